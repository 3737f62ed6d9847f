namespace Lockstep.Client.Admin;

/// <summary>IncrementalAlterConfigs operations (Kafka's <c>AlterConfigOp.OpType</c> wire values).</summary>
public enum AlterConfigOperation : sbyte
{
    /// <summary>Set the value.</summary>
    Set = 0,

    /// <summary>Remove the override (back to the default).</summary>
    Delete = 1,

    /// <summary>Append to a list-valued config.</summary>
    Append = 2,

    /// <summary>Remove from a list-valued config.</summary>
    Subtract = 3,
}
