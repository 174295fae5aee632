//! The client's error type.

/// Everything a RouterOS API call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Socket error.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// Connect, login or a command took longer than its configured timeout.
    #[error("timed out during {0}")]
    Timeout(&'static str),
    /// The peer broke the framing or sent a reply this client cannot interpret.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The router refused the credentials (or the login exchange failed).
    #[error("login failed: {0}")]
    Login(String),
    /// The command failed with `!trap`; this is the first trap's message.
    #[error("{message}")]
    Trap {
        /// `=message=` of the first trap.
        message: String,
        /// `=category=` of the first trap, if it carried one.
        category: Option<u32>,
    },
    /// The router sent `!fatal` and closed the session; the reason follows.
    #[error("router closed the session: {0}")]
    Fatal(String),
    /// The connection is closed (by us, by the router or by the network).
    #[error("connection closed")]
    Closed,
    /// TLS setup or handshake failure.
    #[error("tls error: {0}")]
    Tls(String),
    /// A value given to a typed helper is not valid for the router (checked before sending).
    #[error("invalid value: {0}")]
    Invalid(String),
}

impl Error {
    /// True when the session is unusable and must be re-established.
    pub fn is_connection(&self) -> bool {
        matches!(
            self,
            Error::Io(_)
                | Error::Timeout(_)
                | Error::Closed
                | Error::Fatal(_)
                | Error::Protocol(_)
                | Error::Tls(_)
        )
    }

    /// True for a trap with the given message (exact match).
    pub fn is_trap(&self, msg: &str) -> bool {
        matches!(self, Error::Trap { message, .. } if message == msg)
    }
}
