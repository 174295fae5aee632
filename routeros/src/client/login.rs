//! Login: plain (6.43+) with the legacy MD5 challenge as fallback.

use md5::{Digest, Md5};

use super::Client;
use crate::error::Error;

/// Logs in; a router that answers the plain login with `=ret=` gets the challenge response.
pub(crate) async fn login(client: &Client, user: &str, password: &str) -> Result<(), Error> {
    let name = format!("=name={user}");
    let pass = format!("=password={password}");
    let reply = client
        .command(&["/login", &name, &pass])
        .await
        .map_err(login_error)?;
    let Some(challenge) = reply.ret() else {
        return Ok(());
    };
    let response = challenge_response(password.as_bytes(), challenge)?;
    let resp = format!("=response={response}");
    client
        .command(&["/login", &name, &resp])
        .await
        .map_err(login_error)?;
    Ok(())
}

fn login_error(e: Error) -> Error {
    match e {
        Error::Trap { message, .. } => Error::Login(message),
        other => other,
    }
}

/// `"00" + hex(md5(0x00 ++ password ++ unhex(challenge)))`.
pub fn challenge_response(password: &[u8], challenge_hex: &str) -> Result<String, Error> {
    let challenge = hex::decode(challenge_hex)
        .map_err(|e| Error::Protocol(format!("bad login challenge {challenge_hex:?}: {e}")))?;
    let mut h = Md5::new();
    h.update([0u8]);
    h.update(password);
    h.update(&challenge);
    Ok(format!("00{}", hex::encode(h.finalize())))
}
