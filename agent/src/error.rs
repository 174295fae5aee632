//! The agent's error type.

/// Why the agent could not start or a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Configuration is unusable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The key file could not be read or written.
    #[error("key file {path}: {message}")]
    Key {
        /// The key file.
        path: std::path::PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The redb store failed.
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// Local I/O (status listener, data directory).
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// MQTT set-up (TLS files, options).
    #[error("mqtt: {0}")]
    Mqtt(String),
}
