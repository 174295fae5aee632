//! The API login state machine: plain login (6.43+), the legacy MD5 challenge, exact failures.

use md5::{Digest, Md5};

use super::menus::{trap, Out, Request};
use super::server::{l1, Conn, Ctx};

/// The login state machine (API-NOTES §3).
pub(crate) fn login(conn: &mut Conn, ctx: &Ctx, req: &Request) -> Vec<Out> {
    let fail = || {
        let msg = if ctx.pre_643 {
            "cannot log in"
        } else {
            "invalid user name or password (6)"
        };
        trap(msg, None)
    };
    let name = req.attrs.get("name");
    if let Some(resp) = req.attrs.get("response") {
        let ok = ctx.challenge_login
            && conn.challenge.take().is_some_and(|ch| {
                ctx.cfg.logins.iter().any(|(u, p)| {
                    Some(&l1(u.as_bytes())) == name && verify_response(p.as_bytes(), &ch, resp)
                })
            });
        if !ok {
            return fail();
        }
        conn.logged_in = true;
        return vec![Out {
            word: "!done",
            attrs: vec![],
        }];
    }
    match name {
        Some(name) if !ctx.pre_643 => {
            let pass = req.attrs.get("password").map(String::as_str).unwrap_or("");
            let ok = ctx
                .cfg
                .logins
                .iter()
                .any(|(u, p)| l1(u.as_bytes()) == *name && l1(p.as_bytes()) == pass);
            if !ok {
                return fail();
            }
            conn.logged_in = true;
            vec![Out {
                word: "!done",
                attrs: vec![],
            }]
        }
        _ => {
            let ch: [u8; 16] = rand::random();
            conn.challenge = Some(ch);
            vec![Out {
                word: "!done",
                attrs: vec![("ret".into(), hex::encode(ch))],
            }]
        }
    }
}

fn verify_response(password: &[u8], challenge: &[u8; 16], response: &str) -> bool {
    let mut h = Md5::new();
    h.update([0u8]);
    h.update(password);
    h.update(challenge);
    let expected = format!("00{}", hex::encode(h.finalize()));
    expected.eq_ignore_ascii_case(response)
}
