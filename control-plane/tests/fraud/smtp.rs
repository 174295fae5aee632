//! A mail server on loopback that speaks just enough real SMTP (RFC 5321: greeting, EHLO/HELO,
//! MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) for the server's mailer to deliver to
//! it; every accepted message is handed to the test.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct Mail {
    /// `MAIL FROM` address.
    pub from: String,
    /// `RCPT TO` addresses.
    pub to: Vec<String>,
    /// The message (headers and body) as sent after `DATA`.
    pub data: String,
}

/// Start the server; its `smtp://` URL and the messages it accepts.
pub async fn receiver() -> (String, mpsc::UnboundedReceiver<Mail>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let _ = session(stream, tx).await;
            });
        }
    });
    (url, rx)
}

fn address(arg: &str) -> String {
    arg.split_once('<')
        .and_then(|(_, r)| r.split_once('>'))
        .map(|(a, _)| a.to_owned())
        .unwrap_or_else(|| arg.trim().to_owned())
}

async fn session(
    stream: tokio::net::TcpStream,
    tx: mpsc::UnboundedSender<Mail>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 localhost test SMTP\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-localhost\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            b"250 ok\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&line[10..]);
            b"250 ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&line[8..]));
            b"250 ok\r\n"
        } else if upper.starts_with("RSET") {
            (from, to) = (String::new(), Vec::new());
            b"250 ok\r\n"
        } else if upper == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            while let Some(l) = lines.next_line().await? {
                if l == "." {
                    break;
                }
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
                data.push('\n');
            }
            let mail = Mail {
                from: std::mem::take(&mut from),
                to: std::mem::take(&mut to),
                data,
            };
            let _ = tx.send(mail);
            b"250 queued\r\n"
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
    Ok(())
}
