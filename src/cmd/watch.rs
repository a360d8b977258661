//! `hubl watch peers`: Peer.Notify, one line per change, until Ctrl-C.

use std::io::{self, Write};

use tokio_stream::StreamExt;

use super::{Outcome, Settings};
use crate::printer::write_peer_change;

pub async fn peers(settings: &Settings) -> anyhow::Result<Outcome> {
    let connection = settings.connect().await?;
    let mut stream = connection.peer_notify().await?;
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    let mut stdout = io::stdout().lock();
    loop {
        tokio::select! {
            item = stream.next() => match item {
                None => return Ok(Outcome::Success),
                Some(change) => {
                    write_peer_change(&mut stdout, &change?)?;
                    stdout.flush()?;
                }
            },
            _ = &mut interrupt => return Ok(Outcome::Interrupted),
        }
    }
}
