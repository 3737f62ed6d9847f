using System.Collections.Frozen;
using System.Collections.Generic;

namespace Lockstep.Protocol;

/// <summary>
/// Kafka's protocol error codes, with the names and numbers of Apache Kafka's
/// <c>clients/src/main/java/org/apache/kafka/common/protocol/Errors.java</c> (trunk d79bd502). Values are part of
/// the wire protocol and never change; new codes are only appended.
/// </summary>
public enum ErrorCode : short
{
    /// <summary>Kafka <c>UNKNOWN_SERVER_ERROR</c>.</summary>
    UnknownServerError = -1,

    /// <summary>Kafka <c>NONE</c>.</summary>
    None = 0,

    /// <summary>Kafka <c>OFFSET_OUT_OF_RANGE</c>.</summary>
    OffsetOutOfRange = 1,

    /// <summary>Kafka <c>CORRUPT_MESSAGE</c> (retriable).</summary>
    CorruptMessage = 2,

    /// <summary>Kafka <c>UNKNOWN_TOPIC_OR_PARTITION</c> (retriable).</summary>
    UnknownTopicOrPartition = 3,

    /// <summary>Kafka <c>INVALID_FETCH_SIZE</c>.</summary>
    InvalidFetchSize = 4,

    /// <summary>Kafka <c>LEADER_NOT_AVAILABLE</c> (retriable).</summary>
    LeaderNotAvailable = 5,

    /// <summary>Kafka <c>NOT_LEADER_OR_FOLLOWER</c> (retriable).</summary>
    NotLeaderOrFollower = 6,

    /// <summary>Kafka <c>REQUEST_TIMED_OUT</c> (retriable).</summary>
    RequestTimedOut = 7,

    /// <summary>Kafka <c>BROKER_NOT_AVAILABLE</c>.</summary>
    BrokerNotAvailable = 8,

    /// <summary>Kafka <c>REPLICA_NOT_AVAILABLE</c> (retriable).</summary>
    ReplicaNotAvailable = 9,

    /// <summary>Kafka <c>MESSAGE_TOO_LARGE</c>.</summary>
    MessageTooLarge = 10,

    /// <summary>Kafka <c>STALE_CONTROLLER_EPOCH</c>.</summary>
    StaleControllerEpoch = 11,

    /// <summary>Kafka <c>OFFSET_METADATA_TOO_LARGE</c>.</summary>
    OffsetMetadataTooLarge = 12,

    /// <summary>Kafka <c>NETWORK_EXCEPTION</c> (retriable).</summary>
    NetworkException = 13,

    /// <summary>Kafka <c>COORDINATOR_LOAD_IN_PROGRESS</c> (retriable).</summary>
    CoordinatorLoadInProgress = 14,

    /// <summary>Kafka <c>COORDINATOR_NOT_AVAILABLE</c> (retriable).</summary>
    CoordinatorNotAvailable = 15,

    /// <summary>Kafka <c>NOT_COORDINATOR</c> (retriable).</summary>
    NotCoordinator = 16,

    /// <summary>Kafka <c>INVALID_TOPIC_EXCEPTION</c>.</summary>
    InvalidTopicException = 17,

    /// <summary>Kafka <c>RECORD_LIST_TOO_LARGE</c>.</summary>
    RecordListTooLarge = 18,

    /// <summary>Kafka <c>NOT_ENOUGH_REPLICAS</c> (retriable).</summary>
    NotEnoughReplicas = 19,

    /// <summary>Kafka <c>NOT_ENOUGH_REPLICAS_AFTER_APPEND</c> (retriable).</summary>
    NotEnoughReplicasAfterAppend = 20,

    /// <summary>Kafka <c>INVALID_REQUIRED_ACKS</c>.</summary>
    InvalidRequiredAcks = 21,

    /// <summary>Kafka <c>ILLEGAL_GENERATION</c>.</summary>
    IllegalGeneration = 22,

    /// <summary>Kafka <c>INCONSISTENT_GROUP_PROTOCOL</c>.</summary>
    InconsistentGroupProtocol = 23,

    /// <summary>Kafka <c>INVALID_GROUP_ID</c>.</summary>
    InvalidGroupId = 24,

    /// <summary>Kafka <c>UNKNOWN_MEMBER_ID</c>.</summary>
    UnknownMemberId = 25,

    /// <summary>Kafka <c>INVALID_SESSION_TIMEOUT</c>.</summary>
    InvalidSessionTimeout = 26,

    /// <summary>Kafka <c>REBALANCE_IN_PROGRESS</c>.</summary>
    RebalanceInProgress = 27,

    /// <summary>Kafka <c>INVALID_COMMIT_OFFSET_SIZE</c>.</summary>
    InvalidCommitOffsetSize = 28,

    /// <summary>Kafka <c>TOPIC_AUTHORIZATION_FAILED</c>.</summary>
    TopicAuthorizationFailed = 29,

    /// <summary>Kafka <c>GROUP_AUTHORIZATION_FAILED</c>.</summary>
    GroupAuthorizationFailed = 30,

    /// <summary>Kafka <c>CLUSTER_AUTHORIZATION_FAILED</c>.</summary>
    ClusterAuthorizationFailed = 31,

    /// <summary>Kafka <c>INVALID_TIMESTAMP</c>.</summary>
    InvalidTimestamp = 32,

    /// <summary>Kafka <c>UNSUPPORTED_SASL_MECHANISM</c>.</summary>
    UnsupportedSaslMechanism = 33,

    /// <summary>Kafka <c>ILLEGAL_SASL_STATE</c>.</summary>
    IllegalSaslState = 34,

    /// <summary>Kafka <c>UNSUPPORTED_VERSION</c>.</summary>
    UnsupportedVersion = 35,

    /// <summary>Kafka <c>TOPIC_ALREADY_EXISTS</c>.</summary>
    TopicAlreadyExists = 36,

    /// <summary>Kafka <c>INVALID_PARTITIONS</c>.</summary>
    InvalidPartitions = 37,

    /// <summary>Kafka <c>INVALID_REPLICATION_FACTOR</c>.</summary>
    InvalidReplicationFactor = 38,

    /// <summary>Kafka <c>INVALID_REPLICA_ASSIGNMENT</c>.</summary>
    InvalidReplicaAssignment = 39,

    /// <summary>Kafka <c>INVALID_CONFIG</c>.</summary>
    InvalidConfig = 40,

    /// <summary>Kafka <c>NOT_CONTROLLER</c> (retriable).</summary>
    NotController = 41,

    /// <summary>Kafka <c>INVALID_REQUEST</c>.</summary>
    InvalidRequest = 42,

    /// <summary>Kafka <c>UNSUPPORTED_FOR_MESSAGE_FORMAT</c>.</summary>
    UnsupportedForMessageFormat = 43,

    /// <summary>Kafka <c>POLICY_VIOLATION</c>.</summary>
    PolicyViolation = 44,

    /// <summary>Kafka <c>OUT_OF_ORDER_SEQUENCE_NUMBER</c>.</summary>
    OutOfOrderSequenceNumber = 45,

    /// <summary>Kafka <c>DUPLICATE_SEQUENCE_NUMBER</c>.</summary>
    DuplicateSequenceNumber = 46,

    /// <summary>Kafka <c>INVALID_PRODUCER_EPOCH</c>.</summary>
    InvalidProducerEpoch = 47,

    /// <summary>Kafka <c>INVALID_TXN_STATE</c>.</summary>
    InvalidTxnState = 48,

    /// <summary>Kafka <c>INVALID_PRODUCER_ID_MAPPING</c>.</summary>
    InvalidProducerIdMapping = 49,

    /// <summary>Kafka <c>INVALID_TRANSACTION_TIMEOUT</c>.</summary>
    InvalidTransactionTimeout = 50,

    /// <summary>Kafka <c>CONCURRENT_TRANSACTIONS</c> (retriable).</summary>
    ConcurrentTransactions = 51,

    /// <summary>Kafka <c>TRANSACTION_COORDINATOR_FENCED</c>.</summary>
    TransactionCoordinatorFenced = 52,

    /// <summary>Kafka <c>TRANSACTIONAL_ID_AUTHORIZATION_FAILED</c>.</summary>
    TransactionalIdAuthorizationFailed = 53,

    /// <summary>Kafka <c>SECURITY_DISABLED</c>.</summary>
    SecurityDisabled = 54,

    /// <summary>Kafka <c>OPERATION_NOT_ATTEMPTED</c>.</summary>
    OperationNotAttempted = 55,

    /// <summary>Kafka <c>KAFKA_STORAGE_ERROR</c> (retriable).</summary>
    KafkaStorageError = 56,

    /// <summary>Kafka <c>LOG_DIR_NOT_FOUND</c>.</summary>
    LogDirNotFound = 57,

    /// <summary>Kafka <c>SASL_AUTHENTICATION_FAILED</c>.</summary>
    SaslAuthenticationFailed = 58,

    /// <summary>Kafka <c>UNKNOWN_PRODUCER_ID</c>.</summary>
    UnknownProducerId = 59,

    /// <summary>Kafka <c>REASSIGNMENT_IN_PROGRESS</c>.</summary>
    ReassignmentInProgress = 60,

    /// <summary>Kafka <c>DELEGATION_TOKEN_AUTH_DISABLED</c>.</summary>
    DelegationTokenAuthDisabled = 61,

    /// <summary>Kafka <c>DELEGATION_TOKEN_NOT_FOUND</c>.</summary>
    DelegationTokenNotFound = 62,

    /// <summary>Kafka <c>DELEGATION_TOKEN_OWNER_MISMATCH</c>.</summary>
    DelegationTokenOwnerMismatch = 63,

    /// <summary>Kafka <c>DELEGATION_TOKEN_REQUEST_NOT_ALLOWED</c>.</summary>
    DelegationTokenRequestNotAllowed = 64,

    /// <summary>Kafka <c>DELEGATION_TOKEN_AUTHORIZATION_FAILED</c>.</summary>
    DelegationTokenAuthorizationFailed = 65,

    /// <summary>Kafka <c>DELEGATION_TOKEN_EXPIRED</c>.</summary>
    DelegationTokenExpired = 66,

    /// <summary>Kafka <c>INVALID_PRINCIPAL_TYPE</c>.</summary>
    InvalidPrincipalType = 67,

    /// <summary>Kafka <c>NON_EMPTY_GROUP</c>.</summary>
    NonEmptyGroup = 68,

    /// <summary>Kafka <c>GROUP_ID_NOT_FOUND</c>.</summary>
    GroupIdNotFound = 69,

    /// <summary>Kafka <c>FETCH_SESSION_ID_NOT_FOUND</c> (retriable).</summary>
    FetchSessionIdNotFound = 70,

    /// <summary>Kafka <c>INVALID_FETCH_SESSION_EPOCH</c> (retriable).</summary>
    InvalidFetchSessionEpoch = 71,

    /// <summary>Kafka <c>LISTENER_NOT_FOUND</c> (retriable).</summary>
    ListenerNotFound = 72,

    /// <summary>Kafka <c>TOPIC_DELETION_DISABLED</c>.</summary>
    TopicDeletionDisabled = 73,

    /// <summary>Kafka <c>FENCED_LEADER_EPOCH</c> (retriable).</summary>
    FencedLeaderEpoch = 74,

    /// <summary>Kafka <c>UNKNOWN_LEADER_EPOCH</c> (retriable).</summary>
    UnknownLeaderEpoch = 75,

    /// <summary>Kafka <c>UNSUPPORTED_COMPRESSION_TYPE</c>.</summary>
    UnsupportedCompressionType = 76,

    /// <summary>Kafka <c>STALE_BROKER_EPOCH</c>.</summary>
    StaleBrokerEpoch = 77,

    /// <summary>Kafka <c>OFFSET_NOT_AVAILABLE</c> (retriable).</summary>
    OffsetNotAvailable = 78,

    /// <summary>Kafka <c>MEMBER_ID_REQUIRED</c>.</summary>
    MemberIdRequired = 79,

    /// <summary>Kafka <c>PREFERRED_LEADER_NOT_AVAILABLE</c> (retriable).</summary>
    PreferredLeaderNotAvailable = 80,

    /// <summary>Kafka <c>GROUP_MAX_SIZE_REACHED</c>.</summary>
    GroupMaxSizeReached = 81,

    /// <summary>Kafka <c>FENCED_INSTANCE_ID</c>.</summary>
    FencedInstanceId = 82,

    /// <summary>Kafka <c>ELIGIBLE_LEADERS_NOT_AVAILABLE</c> (retriable).</summary>
    EligibleLeadersNotAvailable = 83,

    /// <summary>Kafka <c>ELECTION_NOT_NEEDED</c> (retriable).</summary>
    ElectionNotNeeded = 84,

    /// <summary>Kafka <c>NO_REASSIGNMENT_IN_PROGRESS</c>.</summary>
    NoReassignmentInProgress = 85,

    /// <summary>Kafka <c>GROUP_SUBSCRIBED_TO_TOPIC</c>.</summary>
    GroupSubscribedToTopic = 86,

    /// <summary>Kafka <c>INVALID_RECORD</c>.</summary>
    InvalidRecord = 87,

    /// <summary>Kafka <c>UNSTABLE_OFFSET_COMMIT</c> (retriable).</summary>
    UnstableOffsetCommit = 88,

    /// <summary>Kafka <c>THROTTLING_QUOTA_EXCEEDED</c> (retriable).</summary>
    ThrottlingQuotaExceeded = 89,

    /// <summary>Kafka <c>PRODUCER_FENCED</c>.</summary>
    ProducerFenced = 90,

    /// <summary>Kafka <c>RESOURCE_NOT_FOUND</c>.</summary>
    ResourceNotFound = 91,

    /// <summary>Kafka <c>DUPLICATE_RESOURCE</c>.</summary>
    DuplicateResource = 92,

    /// <summary>Kafka <c>UNACCEPTABLE_CREDENTIAL</c>.</summary>
    UnacceptableCredential = 93,

    /// <summary>Kafka <c>INCONSISTENT_VOTER_SET</c>.</summary>
    InconsistentVoterSet = 94,

    /// <summary>Kafka <c>INVALID_UPDATE_VERSION</c>.</summary>
    InvalidUpdateVersion = 95,

    /// <summary>Kafka <c>FEATURE_UPDATE_FAILED</c>.</summary>
    FeatureUpdateFailed = 96,

    /// <summary>Kafka <c>PRINCIPAL_DESERIALIZATION_FAILURE</c>.</summary>
    PrincipalDeserializationFailure = 97,

    /// <summary>Kafka <c>SNAPSHOT_NOT_FOUND</c>.</summary>
    SnapshotNotFound = 98,

    /// <summary>Kafka <c>POSITION_OUT_OF_RANGE</c>.</summary>
    PositionOutOfRange = 99,

    /// <summary>Kafka <c>UNKNOWN_TOPIC_ID</c> (retriable).</summary>
    UnknownTopicId = 100,

    /// <summary>Kafka <c>DUPLICATE_BROKER_REGISTRATION</c>.</summary>
    DuplicateBrokerRegistration = 101,

    /// <summary>Kafka <c>BROKER_ID_NOT_REGISTERED</c>.</summary>
    BrokerIdNotRegistered = 102,

    /// <summary>Kafka <c>INCONSISTENT_TOPIC_ID</c> (retriable).</summary>
    InconsistentTopicId = 103,

    /// <summary>Kafka <c>INCONSISTENT_CLUSTER_ID</c>.</summary>
    InconsistentClusterId = 104,

    /// <summary>Kafka <c>TRANSACTIONAL_ID_NOT_FOUND</c>.</summary>
    TransactionalIdNotFound = 105,

    /// <summary>Kafka <c>FETCH_SESSION_TOPIC_ID_ERROR</c> (retriable).</summary>
    FetchSessionTopicIdError = 106,

    /// <summary>Kafka <c>INELIGIBLE_REPLICA</c>.</summary>
    IneligibleReplica = 107,

    /// <summary>Kafka <c>NEW_LEADER_ELECTED</c>.</summary>
    NewLeaderElected = 108,

    /// <summary>Kafka <c>OFFSET_MOVED_TO_TIERED_STORAGE</c>.</summary>
    OffsetMovedToTieredStorage = 109,

    /// <summary>Kafka <c>FENCED_MEMBER_EPOCH</c>.</summary>
    FencedMemberEpoch = 110,

    /// <summary>Kafka <c>UNRELEASED_INSTANCE_ID</c>.</summary>
    UnreleasedInstanceId = 111,

    /// <summary>Kafka <c>UNSUPPORTED_ASSIGNOR</c>.</summary>
    UnsupportedAssignor = 112,

    /// <summary>Kafka <c>STALE_MEMBER_EPOCH</c>.</summary>
    StaleMemberEpoch = 113,

    /// <summary>Kafka <c>MISMATCHED_ENDPOINT_TYPE</c>.</summary>
    MismatchedEndpointType = 114,

    /// <summary>Kafka <c>UNSUPPORTED_ENDPOINT_TYPE</c>.</summary>
    UnsupportedEndpointType = 115,

    /// <summary>Kafka <c>UNKNOWN_CONTROLLER_ID</c>.</summary>
    UnknownControllerId = 116,

    /// <summary>Kafka <c>UNKNOWN_SUBSCRIPTION_ID</c>.</summary>
    UnknownSubscriptionId = 117,

    /// <summary>Kafka <c>TELEMETRY_TOO_LARGE</c>.</summary>
    TelemetryTooLarge = 118,

    /// <summary>Kafka <c>INVALID_REGISTRATION</c>.</summary>
    InvalidRegistration = 119,

    /// <summary>Kafka <c>TRANSACTION_ABORTABLE</c>.</summary>
    TransactionAbortable = 120,

    /// <summary>Kafka <c>INVALID_RECORD_STATE</c>.</summary>
    InvalidRecordState = 121,

    /// <summary>Kafka <c>SHARE_SESSION_NOT_FOUND</c> (retriable).</summary>
    ShareSessionNotFound = 122,

    /// <summary>Kafka <c>INVALID_SHARE_SESSION_EPOCH</c> (retriable).</summary>
    InvalidShareSessionEpoch = 123,

    /// <summary>Kafka <c>FENCED_STATE_EPOCH</c>.</summary>
    FencedStateEpoch = 124,

    /// <summary>Kafka <c>INVALID_VOTER_KEY</c>.</summary>
    InvalidVoterKey = 125,

    /// <summary>Kafka <c>DUPLICATE_VOTER</c>.</summary>
    DuplicateVoter = 126,

    /// <summary>Kafka <c>VOTER_NOT_FOUND</c>.</summary>
    VoterNotFound = 127,

    /// <summary>Kafka <c>INVALID_REGULAR_EXPRESSION</c>.</summary>
    InvalidRegularExpression = 128,

    /// <summary>Kafka <c>REBOOTSTRAP_REQUIRED</c>.</summary>
    RebootstrapRequired = 129,

    /// <summary>Kafka <c>STREAMS_INVALID_TOPOLOGY</c>.</summary>
    StreamsInvalidTopology = 130,

    /// <summary>Kafka <c>STREAMS_INVALID_TOPOLOGY_EPOCH</c>.</summary>
    StreamsInvalidTopologyEpoch = 131,

    /// <summary>Kafka <c>STREAMS_TOPOLOGY_FENCED</c>.</summary>
    StreamsTopologyFenced = 132,

    /// <summary>Kafka <c>SHARE_SESSION_LIMIT_REACHED</c> (retriable).</summary>
    ShareSessionLimitReached = 133,

    /// <summary>Kafka <c>GROUP_DELETION_FAILED</c>.</summary>
    GroupDeletionFailed = 134,

    /// <summary>Kafka <c>STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED</c>.</summary>
    StreamsTopologyDescriptionUpdateFailed = 135,

    /// <summary>Kafka <c>CONTROLLER_ID_NOT_REGISTERED</c>.</summary>
    ControllerIdNotRegistered = 136,
}

/// <summary>Facts about <see cref="ErrorCode"/> values: Kafka's names and which errors are retriable.</summary>
public static class ErrorCodes
{
    // Retriable = the Java exception class for the code extends RetriableException (directly or through
    // InvalidMetadataException and friends); clients retry these without user action.
    private static readonly FrozenSet<ErrorCode> Retriable = new HashSet<ErrorCode>
    {
        ErrorCode.CorruptMessage,
        ErrorCode.UnknownTopicOrPartition,
        ErrorCode.LeaderNotAvailable,
        ErrorCode.NotLeaderOrFollower,
        ErrorCode.RequestTimedOut,
        ErrorCode.ReplicaNotAvailable,
        ErrorCode.NetworkException,
        ErrorCode.CoordinatorLoadInProgress,
        ErrorCode.CoordinatorNotAvailable,
        ErrorCode.NotCoordinator,
        ErrorCode.NotEnoughReplicas,
        ErrorCode.NotEnoughReplicasAfterAppend,
        ErrorCode.NotController,
        ErrorCode.ConcurrentTransactions,
        ErrorCode.KafkaStorageError,
        ErrorCode.FetchSessionIdNotFound,
        ErrorCode.InvalidFetchSessionEpoch,
        ErrorCode.ListenerNotFound,
        ErrorCode.FencedLeaderEpoch,
        ErrorCode.UnknownLeaderEpoch,
        ErrorCode.OffsetNotAvailable,
        ErrorCode.PreferredLeaderNotAvailable,
        ErrorCode.EligibleLeadersNotAvailable,
        ErrorCode.ElectionNotNeeded,
        ErrorCode.UnstableOffsetCommit,
        ErrorCode.ThrottlingQuotaExceeded,
        ErrorCode.UnknownTopicId,
        ErrorCode.InconsistentTopicId,
        ErrorCode.FetchSessionTopicIdError,
        ErrorCode.ShareSessionNotFound,
        ErrorCode.InvalidShareSessionEpoch,
        ErrorCode.ShareSessionLimitReached,
    }.ToFrozenSet();

    private static readonly FrozenDictionary<ErrorCode, string> Names = new Dictionary<ErrorCode, string>
    {
        [ErrorCode.UnknownServerError] = "UNKNOWN_SERVER_ERROR",
        [ErrorCode.None] = "NONE",
        [ErrorCode.OffsetOutOfRange] = "OFFSET_OUT_OF_RANGE",
        [ErrorCode.CorruptMessage] = "CORRUPT_MESSAGE",
        [ErrorCode.UnknownTopicOrPartition] = "UNKNOWN_TOPIC_OR_PARTITION",
        [ErrorCode.InvalidFetchSize] = "INVALID_FETCH_SIZE",
        [ErrorCode.LeaderNotAvailable] = "LEADER_NOT_AVAILABLE",
        [ErrorCode.NotLeaderOrFollower] = "NOT_LEADER_OR_FOLLOWER",
        [ErrorCode.RequestTimedOut] = "REQUEST_TIMED_OUT",
        [ErrorCode.BrokerNotAvailable] = "BROKER_NOT_AVAILABLE",
        [ErrorCode.ReplicaNotAvailable] = "REPLICA_NOT_AVAILABLE",
        [ErrorCode.MessageTooLarge] = "MESSAGE_TOO_LARGE",
        [ErrorCode.StaleControllerEpoch] = "STALE_CONTROLLER_EPOCH",
        [ErrorCode.OffsetMetadataTooLarge] = "OFFSET_METADATA_TOO_LARGE",
        [ErrorCode.NetworkException] = "NETWORK_EXCEPTION",
        [ErrorCode.CoordinatorLoadInProgress] = "COORDINATOR_LOAD_IN_PROGRESS",
        [ErrorCode.CoordinatorNotAvailable] = "COORDINATOR_NOT_AVAILABLE",
        [ErrorCode.NotCoordinator] = "NOT_COORDINATOR",
        [ErrorCode.InvalidTopicException] = "INVALID_TOPIC_EXCEPTION",
        [ErrorCode.RecordListTooLarge] = "RECORD_LIST_TOO_LARGE",
        [ErrorCode.NotEnoughReplicas] = "NOT_ENOUGH_REPLICAS",
        [ErrorCode.NotEnoughReplicasAfterAppend] = "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
        [ErrorCode.InvalidRequiredAcks] = "INVALID_REQUIRED_ACKS",
        [ErrorCode.IllegalGeneration] = "ILLEGAL_GENERATION",
        [ErrorCode.InconsistentGroupProtocol] = "INCONSISTENT_GROUP_PROTOCOL",
        [ErrorCode.InvalidGroupId] = "INVALID_GROUP_ID",
        [ErrorCode.UnknownMemberId] = "UNKNOWN_MEMBER_ID",
        [ErrorCode.InvalidSessionTimeout] = "INVALID_SESSION_TIMEOUT",
        [ErrorCode.RebalanceInProgress] = "REBALANCE_IN_PROGRESS",
        [ErrorCode.InvalidCommitOffsetSize] = "INVALID_COMMIT_OFFSET_SIZE",
        [ErrorCode.TopicAuthorizationFailed] = "TOPIC_AUTHORIZATION_FAILED",
        [ErrorCode.GroupAuthorizationFailed] = "GROUP_AUTHORIZATION_FAILED",
        [ErrorCode.ClusterAuthorizationFailed] = "CLUSTER_AUTHORIZATION_FAILED",
        [ErrorCode.InvalidTimestamp] = "INVALID_TIMESTAMP",
        [ErrorCode.UnsupportedSaslMechanism] = "UNSUPPORTED_SASL_MECHANISM",
        [ErrorCode.IllegalSaslState] = "ILLEGAL_SASL_STATE",
        [ErrorCode.UnsupportedVersion] = "UNSUPPORTED_VERSION",
        [ErrorCode.TopicAlreadyExists] = "TOPIC_ALREADY_EXISTS",
        [ErrorCode.InvalidPartitions] = "INVALID_PARTITIONS",
        [ErrorCode.InvalidReplicationFactor] = "INVALID_REPLICATION_FACTOR",
        [ErrorCode.InvalidReplicaAssignment] = "INVALID_REPLICA_ASSIGNMENT",
        [ErrorCode.InvalidConfig] = "INVALID_CONFIG",
        [ErrorCode.NotController] = "NOT_CONTROLLER",
        [ErrorCode.InvalidRequest] = "INVALID_REQUEST",
        [ErrorCode.UnsupportedForMessageFormat] = "UNSUPPORTED_FOR_MESSAGE_FORMAT",
        [ErrorCode.PolicyViolation] = "POLICY_VIOLATION",
        [ErrorCode.OutOfOrderSequenceNumber] = "OUT_OF_ORDER_SEQUENCE_NUMBER",
        [ErrorCode.DuplicateSequenceNumber] = "DUPLICATE_SEQUENCE_NUMBER",
        [ErrorCode.InvalidProducerEpoch] = "INVALID_PRODUCER_EPOCH",
        [ErrorCode.InvalidTxnState] = "INVALID_TXN_STATE",
        [ErrorCode.InvalidProducerIdMapping] = "INVALID_PRODUCER_ID_MAPPING",
        [ErrorCode.InvalidTransactionTimeout] = "INVALID_TRANSACTION_TIMEOUT",
        [ErrorCode.ConcurrentTransactions] = "CONCURRENT_TRANSACTIONS",
        [ErrorCode.TransactionCoordinatorFenced] = "TRANSACTION_COORDINATOR_FENCED",
        [ErrorCode.TransactionalIdAuthorizationFailed] = "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
        [ErrorCode.SecurityDisabled] = "SECURITY_DISABLED",
        [ErrorCode.OperationNotAttempted] = "OPERATION_NOT_ATTEMPTED",
        [ErrorCode.KafkaStorageError] = "KAFKA_STORAGE_ERROR",
        [ErrorCode.LogDirNotFound] = "LOG_DIR_NOT_FOUND",
        [ErrorCode.SaslAuthenticationFailed] = "SASL_AUTHENTICATION_FAILED",
        [ErrorCode.UnknownProducerId] = "UNKNOWN_PRODUCER_ID",
        [ErrorCode.ReassignmentInProgress] = "REASSIGNMENT_IN_PROGRESS",
        [ErrorCode.DelegationTokenAuthDisabled] = "DELEGATION_TOKEN_AUTH_DISABLED",
        [ErrorCode.DelegationTokenNotFound] = "DELEGATION_TOKEN_NOT_FOUND",
        [ErrorCode.DelegationTokenOwnerMismatch] = "DELEGATION_TOKEN_OWNER_MISMATCH",
        [ErrorCode.DelegationTokenRequestNotAllowed] = "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED",
        [ErrorCode.DelegationTokenAuthorizationFailed] = "DELEGATION_TOKEN_AUTHORIZATION_FAILED",
        [ErrorCode.DelegationTokenExpired] = "DELEGATION_TOKEN_EXPIRED",
        [ErrorCode.InvalidPrincipalType] = "INVALID_PRINCIPAL_TYPE",
        [ErrorCode.NonEmptyGroup] = "NON_EMPTY_GROUP",
        [ErrorCode.GroupIdNotFound] = "GROUP_ID_NOT_FOUND",
        [ErrorCode.FetchSessionIdNotFound] = "FETCH_SESSION_ID_NOT_FOUND",
        [ErrorCode.InvalidFetchSessionEpoch] = "INVALID_FETCH_SESSION_EPOCH",
        [ErrorCode.ListenerNotFound] = "LISTENER_NOT_FOUND",
        [ErrorCode.TopicDeletionDisabled] = "TOPIC_DELETION_DISABLED",
        [ErrorCode.FencedLeaderEpoch] = "FENCED_LEADER_EPOCH",
        [ErrorCode.UnknownLeaderEpoch] = "UNKNOWN_LEADER_EPOCH",
        [ErrorCode.UnsupportedCompressionType] = "UNSUPPORTED_COMPRESSION_TYPE",
        [ErrorCode.StaleBrokerEpoch] = "STALE_BROKER_EPOCH",
        [ErrorCode.OffsetNotAvailable] = "OFFSET_NOT_AVAILABLE",
        [ErrorCode.MemberIdRequired] = "MEMBER_ID_REQUIRED",
        [ErrorCode.PreferredLeaderNotAvailable] = "PREFERRED_LEADER_NOT_AVAILABLE",
        [ErrorCode.GroupMaxSizeReached] = "GROUP_MAX_SIZE_REACHED",
        [ErrorCode.FencedInstanceId] = "FENCED_INSTANCE_ID",
        [ErrorCode.EligibleLeadersNotAvailable] = "ELIGIBLE_LEADERS_NOT_AVAILABLE",
        [ErrorCode.ElectionNotNeeded] = "ELECTION_NOT_NEEDED",
        [ErrorCode.NoReassignmentInProgress] = "NO_REASSIGNMENT_IN_PROGRESS",
        [ErrorCode.GroupSubscribedToTopic] = "GROUP_SUBSCRIBED_TO_TOPIC",
        [ErrorCode.InvalidRecord] = "INVALID_RECORD",
        [ErrorCode.UnstableOffsetCommit] = "UNSTABLE_OFFSET_COMMIT",
        [ErrorCode.ThrottlingQuotaExceeded] = "THROTTLING_QUOTA_EXCEEDED",
        [ErrorCode.ProducerFenced] = "PRODUCER_FENCED",
        [ErrorCode.ResourceNotFound] = "RESOURCE_NOT_FOUND",
        [ErrorCode.DuplicateResource] = "DUPLICATE_RESOURCE",
        [ErrorCode.UnacceptableCredential] = "UNACCEPTABLE_CREDENTIAL",
        [ErrorCode.InconsistentVoterSet] = "INCONSISTENT_VOTER_SET",
        [ErrorCode.InvalidUpdateVersion] = "INVALID_UPDATE_VERSION",
        [ErrorCode.FeatureUpdateFailed] = "FEATURE_UPDATE_FAILED",
        [ErrorCode.PrincipalDeserializationFailure] = "PRINCIPAL_DESERIALIZATION_FAILURE",
        [ErrorCode.SnapshotNotFound] = "SNAPSHOT_NOT_FOUND",
        [ErrorCode.PositionOutOfRange] = "POSITION_OUT_OF_RANGE",
        [ErrorCode.UnknownTopicId] = "UNKNOWN_TOPIC_ID",
        [ErrorCode.DuplicateBrokerRegistration] = "DUPLICATE_BROKER_REGISTRATION",
        [ErrorCode.BrokerIdNotRegistered] = "BROKER_ID_NOT_REGISTERED",
        [ErrorCode.InconsistentTopicId] = "INCONSISTENT_TOPIC_ID",
        [ErrorCode.InconsistentClusterId] = "INCONSISTENT_CLUSTER_ID",
        [ErrorCode.TransactionalIdNotFound] = "TRANSACTIONAL_ID_NOT_FOUND",
        [ErrorCode.FetchSessionTopicIdError] = "FETCH_SESSION_TOPIC_ID_ERROR",
        [ErrorCode.IneligibleReplica] = "INELIGIBLE_REPLICA",
        [ErrorCode.NewLeaderElected] = "NEW_LEADER_ELECTED",
        [ErrorCode.OffsetMovedToTieredStorage] = "OFFSET_MOVED_TO_TIERED_STORAGE",
        [ErrorCode.FencedMemberEpoch] = "FENCED_MEMBER_EPOCH",
        [ErrorCode.UnreleasedInstanceId] = "UNRELEASED_INSTANCE_ID",
        [ErrorCode.UnsupportedAssignor] = "UNSUPPORTED_ASSIGNOR",
        [ErrorCode.StaleMemberEpoch] = "STALE_MEMBER_EPOCH",
        [ErrorCode.MismatchedEndpointType] = "MISMATCHED_ENDPOINT_TYPE",
        [ErrorCode.UnsupportedEndpointType] = "UNSUPPORTED_ENDPOINT_TYPE",
        [ErrorCode.UnknownControllerId] = "UNKNOWN_CONTROLLER_ID",
        [ErrorCode.UnknownSubscriptionId] = "UNKNOWN_SUBSCRIPTION_ID",
        [ErrorCode.TelemetryTooLarge] = "TELEMETRY_TOO_LARGE",
        [ErrorCode.InvalidRegistration] = "INVALID_REGISTRATION",
        [ErrorCode.TransactionAbortable] = "TRANSACTION_ABORTABLE",
        [ErrorCode.InvalidRecordState] = "INVALID_RECORD_STATE",
        [ErrorCode.ShareSessionNotFound] = "SHARE_SESSION_NOT_FOUND",
        [ErrorCode.InvalidShareSessionEpoch] = "INVALID_SHARE_SESSION_EPOCH",
        [ErrorCode.FencedStateEpoch] = "FENCED_STATE_EPOCH",
        [ErrorCode.InvalidVoterKey] = "INVALID_VOTER_KEY",
        [ErrorCode.DuplicateVoter] = "DUPLICATE_VOTER",
        [ErrorCode.VoterNotFound] = "VOTER_NOT_FOUND",
        [ErrorCode.InvalidRegularExpression] = "INVALID_REGULAR_EXPRESSION",
        [ErrorCode.RebootstrapRequired] = "REBOOTSTRAP_REQUIRED",
        [ErrorCode.StreamsInvalidTopology] = "STREAMS_INVALID_TOPOLOGY",
        [ErrorCode.StreamsInvalidTopologyEpoch] = "STREAMS_INVALID_TOPOLOGY_EPOCH",
        [ErrorCode.StreamsTopologyFenced] = "STREAMS_TOPOLOGY_FENCED",
        [ErrorCode.ShareSessionLimitReached] = "SHARE_SESSION_LIMIT_REACHED",
        [ErrorCode.GroupDeletionFailed] = "GROUP_DELETION_FAILED",
        [ErrorCode.StreamsTopologyDescriptionUpdateFailed] = "STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED",
        [ErrorCode.ControllerIdNotRegistered] = "CONTROLLER_ID_NOT_REGISTERED",
    }.ToFrozenDictionary();

    /// <summary>True when a client may retry the failed request as is (Kafka's <c>RetriableException</c>).</summary>
    public static bool IsRetriable(this ErrorCode code) => Retriable.Contains(code);

    /// <summary>Kafka's upper-case name of <paramref name="code"/> (e.g. <c>NOT_LEADER_OR_FOLLOWER</c>), or
    /// <c>UNKNOWN_ERROR_CODE(n)</c> for a code this build does not know.</summary>
    public static string KafkaName(this ErrorCode code) =>
        Names.TryGetValue(code, out var name) ? name : $"UNKNOWN_ERROR_CODE({(short)code})";
}
