// Interop tests start brokers, librdkafka instances and external processes; on the 2-core machines this project runs
// on, running test classes in parallel only makes every test slower and the timeouts tighter. One at a time.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]
