using Lockstep.Broker.Coordinators.Transactions;
using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using static Lockstep.Broker.Tests.DataPlane.DataPlaneTestKit;
using static Lockstep.Broker.Tests.Transactions.Coordinator.TxnTestKit;

namespace Lockstep.Broker.Tests.Transactions.Coordinator;

/// <summary>
/// Every row of the kip939-spec.md §7.10 InitProducerId table, in the table's order, with Lockstep's answers
/// (the "intended" column where released Kafka only stubs KeepPreparedTxn).
/// </summary>
public sealed class InitProducerIdTableTests
{
    private sealed class DenyAuthorizer(params TransactionalIdOperation[] denied) : ITransactionAuthorizer
    {
        public bool Authorize(TransactionalIdOperation operation, string transactionalId) => !denied.Contains(operation);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Row1_no_write_acl_is_transactional_id_authorization_failed(bool enable2Pc)
    {
        await using var harness = await BrokerHarness.StartAsync();
        CoordinatorOf(harness).Authorizer = new DenyAuthorizer(TransactionalIdOperation.Write);
        await using var client = await harness.ConnectAsync();
        var response = await InitAsync(client, "tx", TwoPcInitVersion, enable2Pc: enable2Pc);
        Assert.Equal(ErrorCode.TransactionalIdAuthorizationFailed, (ErrorCode)response.ErrorCode);
        Assert.Equal(-1, response.ProducerId);
    }

    [Theory]
    [InlineData(5L, (short)-1)]
    [InlineData(-1L, (short)3)]
    public async Task Row2_half_set_producer_id_and_epoch_is_invalid_request(long producerId, short epoch)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        var response = await InitAsync(client, "tx", producerId: producerId, epoch: epoch);
        Assert.Equal(ErrorCode.InvalidRequest, (ErrorCode)response.ErrorCode);
    }

    [Fact]
    public async Task Row3_enable2pc_without_two_phase_commit_acl_is_refused_but_plain_init_works()
    {
        await using var harness = await BrokerHarness.StartAsync();
        CoordinatorOf(harness).Authorizer = new DenyAuthorizer(TransactionalIdOperation.TwoPhaseCommit);
        await using var client = await harness.ConnectAsync();
        var refused = await InitAsync(client, "tx", TwoPcInitVersion, enable2Pc: true);
        Assert.Equal(ErrorCode.TransactionalIdAuthorizationFailed, (ErrorCode)refused.ErrorCode);
        var plain = await InitAsync(client, "tx", TwoPcInitVersion, enable2Pc: false);
        Assert.Equal(ErrorCode.None, (ErrorCode)plain.ErrorCode);
    }

    [Fact]
    public async Task Row4_enable2pc_with_broker_2pc_disabled_is_refused_and_v6_is_not_advertised()
    {
        await using var harness = await BrokerHarness.StartAsync(new Dictionary<string, string>
        {
            ["transaction.two.phase.commit.enable"] = "false",
        });
        await using var client = await harness.ConnectAsync();
        var versions = await client.SendAsync<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 3);
        Assert.Equal(5, Assert.Single(versions.ApiKeys, k => k.ApiKey == (short)ApiKey.InitProducerId).MaxVersion);

        // v6 cannot be sent to this broker, so the coordinator gate is exercised directly.
        var result = await CoordinatorOf(harness).InitProducerIdAsync("tx", TimeoutMs, enable2Pc: true, keepPreparedTxn: false, -1, -1, TestContext.Current.CancellationToken);
        Assert.Equal(ErrorCode.TransactionalIdAuthorizationFailed, result.Error);
        var keep = await CoordinatorOf(harness).InitProducerIdAsync("tx", TimeoutMs, enable2Pc: true, keepPreparedTxn: true, -1, -1, TestContext.Current.CancellationToken);
        Assert.Equal(ErrorCode.TransactionalIdAuthorizationFailed, keep.Error);
    }

    [Fact]
    public async Task Default_broker_advertises_init_producer_id_v6()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        var versions = await client.SendAsync<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 3);
        Assert.Equal(6, Assert.Single(versions.ApiKeys, k => k.ApiKey == (short)ApiKey.InitProducerId).MaxVersion);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Row5_and_row6_init_over_ongoing_aborts_then_retry_bumps(bool enable2Pc)
    {
        await using var harness = await BrokerHarness.StartAsync();
        var markers = RecordMarkers(harness);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var (pid, epoch) = await BeginAsync(client, "tx");

        var first = await InitAsync(client, "tx", TwoPcInitVersion, enable2Pc: enable2Pc);
        Assert.Equal(ErrorCode.ConcurrentTransactions, (ErrorCode)first.ErrorCode);
        var abort = Assert.Single(markers.Written);
        Assert.False(abort.Commit);
        Assert.Equal((pid, (short)(epoch + 1)), (abort.ProducerId, abort.Epoch));
        Assert.Equal("CompleteAbort", (await DescribeAsync(client, "tx")).TransactionState);

        var retry = await InitAsync(client, "tx", TwoPcInitVersion, enable2Pc: enable2Pc);
        Assert.Equal(ErrorCode.None, (ErrorCode)retry.ErrorCode);
        Assert.Equal(pid, retry.ProducerId);
        Assert.True(retry.ProducerEpoch > abort.Epoch);
        Assert.Equal(-1, retry.OngoingTxnProducerId);
        var described = await DescribeAsync(client, "tx");
        Assert.Equal("Empty", described.TransactionState);
        Assert.Equal(enable2Pc ? int.MaxValue : TimeoutMs, described.TransactionTimeoutMs);
    }

    [Fact]
    public async Task Row6_init_over_an_ongoing_2pc_transaction_without_keep_aborts_it()
    {
        await using var harness = await BrokerHarness.StartAsync();
        var markers = RecordMarkers(harness);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        await BeginAsync(client, "tx", enable2Pc: true);
        Assert.Equal(int.MaxValue, (await DescribeAsync(client, "tx")).TransactionTimeoutMs);

        var first = await InitAsync(client, "tx", TwoPcInitVersion, enable2Pc: true);
        Assert.Equal(ErrorCode.ConcurrentTransactions, (ErrorCode)first.ErrorCode);
        Assert.False(Assert.Single(markers.Written).Commit);
        var retry = await InitAsync(client, "tx", TwoPcInitVersion, enable2Pc: true);
        Assert.Equal(ErrorCode.None, (ErrorCode)retry.ErrorCode);
        Assert.Equal(int.MaxValue, (await DescribeAsync(client, "tx")).TransactionTimeoutMs);
    }

    [Theory]
    [InlineData("Empty")]
    [InlineData("CompleteCommit")]
    [InlineData("CompleteAbort")]
    public async Task Row7_enable2pc_over_idle_state_bumps_with_max_timeout_and_no_ongoing_ids(string state)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var (pid, epoch) = await ReachIdleStateAsync(client, "tx", state);

        var response = await InitAsync(client, "tx", TwoPcInitVersion, enable2Pc: true);
        Assert.Equal(ErrorCode.None, (ErrorCode)response.ErrorCode);
        Assert.Equal(pid, response.ProducerId);
        Assert.Equal(epoch + 1, response.ProducerEpoch);
        Assert.Equal(-1, response.OngoingTxnProducerId);
        Assert.Equal(-1, response.OngoingTxnProducerEpoch);
        var described = await DescribeAsync(client, "tx");
        Assert.Equal("Empty", described.TransactionState);
        Assert.Equal(int.MaxValue, described.TransactionTimeoutMs);
    }

    [Theory]
    [InlineData(true, false, false)]
    [InlineData(false, false, false)]
    [InlineData(true, true, true)]
    [InlineData(false, true, true)]
    public async Task Row8_prepare_states_answer_concurrent_transactions(bool commit, bool enable2Pc, bool keep)
    {
        await using var harness = await BrokerHarness.StartAsync();
        var markers = RecordMarkers(harness);
        await using var client = await harness.ConnectAsync();
        await using var other = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var (pid, epoch) = await BeginAsync(client, "tx");
        markers.Hold();
        var end = EndAsync(client, "tx", pid, epoch, commit);
        await markers.Blocked;
        Assert.Equal(commit ? "PrepareCommit" : "PrepareAbort", (await DescribeAsync(other, "tx")).TransactionState);

        var response = await InitAsync(other, "tx", TwoPcInitVersion, enable2Pc: enable2Pc, keep: keep);
        Assert.Equal(ErrorCode.ConcurrentTransactions, (ErrorCode)response.ErrorCode);

        markers.Release();
        Assert.Equal(ErrorCode.None, (ErrorCode)(await end).ErrorCode);
        Assert.Equal(commit ? "CompleteCommit" : "CompleteAbort", (await DescribeAsync(other, "tx")).TransactionState);
    }

    [Fact]
    public async Task Row9_keep_prepared_over_ongoing_keeps_the_transaction_and_fences_with_a_new_epoch()
    {
        await using var harness = await BrokerHarness.StartAsync();
        var markers = RecordMarkers(harness);
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var (pid, epoch) = await BeginAsync(client, "tx", enable2Pc: true);

        var keep = await InitAsync(client, "tx", TwoPcInitVersion, enable2Pc: true, keep: true);
        Assert.Equal(ErrorCode.None, (ErrorCode)keep.ErrorCode);
        Assert.Equal((pid, (short)(epoch + 1)), (keep.ProducerId, keep.ProducerEpoch));
        Assert.Equal((pid, epoch), (keep.OngoingTxnProducerId, keep.OngoingTxnProducerEpoch));
        Assert.Empty(markers.Written);
        var described = await DescribeAsync(client, "tx");
        Assert.Equal("Ongoing", described.TransactionState);
        Assert.Equal([0], Assert.Single(described.Topics).Partitions);

        // The previous incarnation is fenced.
        Assert.Equal(ErrorCode.ProducerFenced, (ErrorCode)(await EndAsync(client, "tx", pid, epoch, commit: true)).ErrorCode);
        Assert.Equal(ErrorCode.ProducerFenced, await AddAsync(client, "tx", pid, epoch));
    }

    [Theory]
    [InlineData("Empty")]
    [InlineData("CompleteCommit")]
    [InlineData("CompleteAbort")]
    public async Task Row10_keep_prepared_without_ongoing_transaction_is_a_normal_bump(string state)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");
        var (pid, epoch) = await ReachIdleStateAsync(client, "tx", state);

        var response = await InitAsync(client, "tx", TwoPcInitVersion, enable2Pc: true, keep: true);
        Assert.Equal(ErrorCode.None, (ErrorCode)response.ErrorCode);
        Assert.Equal((pid, (short)(epoch + 1)), (response.ProducerId, response.ProducerEpoch));
        Assert.Equal(-1, response.OngoingTxnProducerId);
        Assert.Equal(-1, response.OngoingTxnProducerEpoch);
        Assert.Equal("Empty", (await DescribeAsync(client, "tx")).TransactionState);
    }

    [Fact]
    public async Task Row11_keep_prepared_without_enable2pc_is_invalid_request()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        var response = await InitAsync(client, "tx", TwoPcInitVersion, enable2Pc: false, keep: true);
        Assert.Equal(ErrorCode.InvalidRequest, (ErrorCode)response.ErrorCode);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(900_001)]
    public async Task Row12_timeout_out_of_range_is_invalid_transaction_timeout_unless_2pc(int timeoutMs)
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        foreach (var version in new short[] { 0, 3, 5, 6 })
        {
            var response = await InitAsync(client, "tx", version, timeoutMs);
            Assert.Equal(ErrorCode.InvalidTransactionTimeout, (ErrorCode)response.ErrorCode);
        }

        var twoPc = await InitAsync(client, "tx", TwoPcInitVersion, timeoutMs, enable2Pc: true);
        Assert.Equal(ErrorCode.None, (ErrorCode)twoPc.ErrorCode);
        Assert.Equal(int.MaxValue, (await DescribeAsync(client, "tx")).TransactionTimeoutMs);
    }

    [Fact]
    public async Task Empty_transactional_id_is_invalid_request()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        Assert.Equal(ErrorCode.InvalidRequest, (ErrorCode)(await InitAsync(client, "")).ErrorCode);
    }

    /// <summary>Drives "tx" into <paramref name="state"/>; returns the id/epoch current there.</summary>
    internal static async Task<(long ProducerId, short Epoch)> ReachIdleStateAsync(RawKafkaClient client, string id, string state)
    {
        if (state == "Empty")
        {
            var init = await InitOkAsync(client, id);
            return (init.ProducerId, init.ProducerEpoch);
        }

        var (pid, epoch) = await BeginAsync(client, id);
        var end = await EndAsync(client, id, pid, epoch, commit: state == "CompleteCommit");
        Assert.Equal(ErrorCode.None, (ErrorCode)end.ErrorCode);
        Assert.Equal(state, (await DescribeAsync(client, id)).TransactionState);
        return (pid, epoch);
    }
}
