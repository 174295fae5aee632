//! Checking what arrives on `down/{agent_id}`: only the pinned control-plane key, only envelopes
//! sealed for this agent, and only fresh ones are believed.

use ed25519_dalek::VerifyingKey;
use mtm_common::{DownMessage, Envelope, WireError, CONTROL_PLANE_ID};

/// Why a down-message was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    /// Not a well-formed envelope, or the signature does not hold.
    #[error("{0}")]
    Wire(#[from] WireError),
    /// Signed as someone other than the control plane.
    #[error("envelope from {0:?}, not the control plane")]
    NotFromCp(String),
    /// The envelope's time is outside the window around the agent clock.
    #[error("envelope time {at} is {skew_s}s away from the agent clock")]
    Stale {
        /// Envelope time, unix ms.
        at: i64,
        /// Distance from the agent clock, seconds.
        skew_s: i64,
    },
}

/// A verified down-message with the envelope `seq` it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The control plane's `seq`.
    pub seq: u64,
    /// The message.
    pub message: DownMessage,
}

/// Parse and verify one payload received on the down topic.
///
/// The envelope must name `me` (this agent's id) as its recipient, so a command or an
/// acknowledgement sealed for another agent and republished here is refused.
///
/// Freshness is judged by the envelope time only: the control plane re-seals a queued command
/// when it resends it, so a voucher sold while the agent was offline for days still arrives,
/// while a replay of an old envelope (which nobody else can re-seal) is refused.
pub fn verify(
    payload: &[u8],
    cp_key: &VerifyingKey,
    me: &str,
    now_ms: i64,
    window_ms: i64,
) -> Result<Verified, Refusal> {
    let env = Envelope::from_bytes(payload)?;
    if env.from != CONTROL_PLANE_ID {
        return Err(Refusal::NotFromCp(env.from));
    }
    let message: DownMessage = env.open(cp_key, me)?;
    let skew = now_ms.saturating_sub(env.at);
    if skew.saturating_abs() > window_ms {
        return Err(Refusal::Stale {
            at: env.at,
            skew_s: skew / 1000,
        });
    }
    Ok(Verified {
        seq: env.seq,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mtm_common::{keys::generate_signing_key, Command, CommandKind};
    use uuid::Uuid;

    const W: i64 = 600_000;

    fn cmd(issued_at: i64) -> DownMessage {
        DownMessage::Command(Command {
            id: Uuid::new_v4(),
            issued_at,
            kind: CommandKind::Resync,
        })
    }

    #[test]
    fn accepts_fresh_and_signed_refuses_the_rest() {
        let cp = generate_signing_key();
        let vk = cp.verifying_key();
        let now = 1_800_000_000_000;
        let ok = Envelope::seal(&cp, "cp", "me", 3, now, &cmd(now)).unwrap();
        let v = verify(&ok.to_bytes().unwrap(), &vk, "me", now + 5, W).unwrap();
        assert_eq!(v.seq, 3);

        let other = generate_signing_key();
        let forged = Envelope::seal(&other, "cp", "me", 3, now, &cmd(now)).unwrap();
        assert_eq!(
            verify(&forged.to_bytes().unwrap(), &vk, "me", now, W),
            Err(Refusal::Wire(WireError::BadSignature))
        );
        let agent = Envelope::seal(&cp, "agent-x", "me", 3, now, &cmd(now)).unwrap();
        assert!(matches!(
            verify(&agent.to_bytes().unwrap(), &vk, "me", now, W),
            Err(Refusal::NotFromCp(_))
        ));
        let old_env = Envelope::seal(&cp, "cp", "me", 3, now - W - 1, &cmd(now)).unwrap();
        assert!(matches!(
            verify(&old_env.to_bytes().unwrap(), &vk, "me", now, W),
            Err(Refusal::Stale { .. })
        ));
        let future = Envelope::seal(&cp, "cp", "me", 3, now + W + 1, &cmd(now)).unwrap();
        assert!(matches!(
            verify(&future.to_bytes().unwrap(), &vk, "me", now, W),
            Err(Refusal::Stale { .. })
        ));
        // An old command re-sealed now (a resend after a long outage) is accepted.
        let resent = Envelope::seal(&cp, "cp", "me", 3, now, &cmd(now - 3 * W)).unwrap();
        assert!(verify(&resent.to_bytes().unwrap(), &vk, "me", now, W).is_ok());
        assert!(matches!(
            verify(b"junk", &vk, "me", now, W),
            Err(Refusal::Wire(WireError::Malformed(_)))
        ));
        // Sealed by the real control plane for another agent: refused, whatever it carries.
        let moved = Envelope::seal(&cp, "cp", "other", 3, now, &cmd(now)).unwrap();
        assert_eq!(
            verify(&moved.to_bytes().unwrap(), &vk, "me", now, W),
            Err(Refusal::Wire(WireError::WrongRecipient("other".into())))
        );
    }
}
