//! A Raspberry Pi without RTC boots in 1970: every command is refused as stale. When NTP sets
//! the clock the agent says `Hello` again, and the control plane's resend then goes through.
//! Its own test binary, since the clock error is process-wide.

mod common;

use common::*;
use mtm_common::{DownMessage, UpMessage};

fn hellos(cp: &Cp) -> usize {
    cp.count(|m| matches!(m, UpMessage::Hello(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_set_right_says_hello_again_and_the_resent_command_applies() {
    // 1970 plus a minute, as after a boot without RTC.
    mtm_agent::test_support::set_clock_error_ms(60_000 - now_ms());
    let rig = rig("clock", MOSQUITTO, true).await;
    let (router, cp) = (&rig.router, &rig.cp);
    let hello = cp.seqs(|m| matches!(m, UpMessage::Hello(_)))[0];
    let cmd = create_token("CLOCK222");
    cp.command(&cmd).await;
    // (The control plane's acks, sealed at the real time, are refused too, so the hello is
    // still held.) Down messages are handled in order: once a request sealed in the agent's 1970 (so
    // accepted) is answered, the command before it was handled, and refused as stale.
    let key = cp.key.clone();
    let agent_time = mtm_agent::store::now_ms();
    cp.send_with(&key, agent_time, &DownMessage::Resend { from_seq: hello })
        .await;
    wait_until(20, "hello published again", || cp.received(hello) == 2).await;
    assert!(router.users().is_empty(), "the stale command was refused");
    assert_eq!(hellos(cp), 1);

    // NTP answers.
    mtm_agent::test_support::set_clock_error_ms(0);
    wait_until(20, "a second hello", || hellos(cp) == 2).await;
    assert!(router.users().is_empty(), "the stale command was refused");
    // What the control plane does on a hello: resend the open command.
    cp.command(&cmd).await;
    wait_until(20, "TokenApplied", || {
        cp.count(|m| matches!(m, UpMessage::TokenApplied(_))) == 1
    })
    .await;
    assert_eq!(router.users().len(), 1);
    rig.stop().await;
}
