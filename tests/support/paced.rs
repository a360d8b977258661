//! A server stream that sends responses as they fall due, as a relay
//! streams what its agents observe: the stream of the test relays
//! (`relay.rs`, `buffered_relay.rs`) and of `examples/soak_relay.rs`,
//! which includes this file.

use std::{pin::Pin, time::Duration};

use tokio::sync::mpsc;
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::Status;

/// A server-streaming call's responses.
pub type Responses<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// How often a following stream looks for responses that fell due.
const POLL: Duration = Duration::from_millis(1);

/// Responses made but not yet taken by a slow client; beyond this the
/// stream waits for it.
const QUEUE: usize = 64;

/// Responses `first`, `first + 1`, … made by `make`, each sent once `due`
/// counts past its index: up to `end`, or, without one, for as long as the
/// client stays or until `stop` completes. An error ends the stream once
/// sent.
pub fn paced<T: Send + 'static>(
    first: usize,
    end: Option<usize>,
    mut due: impl FnMut() -> usize + Send + 'static,
    mut make: impl FnMut(usize) -> Result<T, Status> + Send + 'static,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Responses<T> {
    let (sender, receiver) = mpsc::channel(QUEUE);
    tokio::spawn(async move {
        let mut stop = std::pin::pin!(stop);
        let mut next = first;
        loop {
            let due = end.map_or(due(), |end| due().min(end));
            while next < due {
                let response = make(next);
                let ends = response.is_err();
                if sender.send(response).await.is_err() || ends {
                    return;
                }
                next += 1;
            }
            if end.is_some_and(|end| next >= end) {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = sender.closed() => return,
                () = &mut stop => return,
            }
        }
    });
    Box::pin(ReceiverStream::new(receiver))
}
