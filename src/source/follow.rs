//! A `--follow` that survives the server going away: a relay restarted for
//! an upgrade, a node drained, a port-forward broken, a load balancer
//! cutting an idle stream. When a followed stream fails for a reason that
//! retrying can cure, the connection is dialed again with exponential
//! backoff and the call resumed with `since` = the time of the last
//! response printed, so that what the server buffered meanwhile arrives.
//!
//! A server sends again what it holds at exactly `since` (the bound is
//! inclusive), so the responses printed at that time are remembered and
//! dropped when they come back: the output has neither duplicates nor gaps
//! where the server still has the responses. Remembering costs nothing on
//! the hot path: the printer hands each printed response back (it would
//! free or recycle it otherwise), and only those at the latest time are
//! kept, usually one.

use std::{
    cmp::Ordering,
    marker::PhantomData,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use chrono::SecondsFormat;
use tokio::time::Instant;
use tokio_stream::StreamExt;

use super::{Connection, EventStream, SourceError, wire::Encoded};
use crate::proto::{
    Timestamp,
    observer::{
        GetAgentEventsRequest, GetAgentEventsResponse, GetDebugEventsRequest,
        GetDebugEventsResponse, GetFlowsRequest, GetFlowsResponse,
        get_flows_response::ResponseTypes,
    },
};

/// A connection that stayed up this long was healthy: the next outage
/// starts again from the shortest delay.
const HEALTHY: Duration = Duration::from_secs(60);

/// How long a resumed stream must stay up, sending nothing, before it
/// counts as back: a server that accepts the call and fails it at once is
/// still down.
const SETTLED: Duration = Duration::from_secs(1);

/// Dials the server again, the way the command first reached it (an
/// address, a unix socket or a port-forward).
pub type Dial = Box<
    dyn FnMut() -> Pin<Box<dyn Future<Output = Result<Connection, SourceError>> + Send>> + Send,
>;

/// A streaming call that can be resumed from a point in time.
pub trait Feed: Send + 'static {
    type Request: Resume;
    type Response: PartialEq + Send + 'static;

    /// Makes the call.
    fn open(
        connection: &Connection,
        request: Self::Request,
    ) -> impl Future<Output = Result<EventStream<Self::Response>, SourceError>> + Send;

    /// When a response the server keeps in its buffer was observed; `None`
    /// for those it makes up as it sends them (node status), which it
    /// never sends again.
    fn time(response: &Self::Response) -> Option<Timestamp>;

    /// Gives a response that is no longer needed back to the reader.
    fn release(response: Self::Response) {
        drop(response);
    }
}

/// A request that can be continued from a point in time.
pub trait Resume: Clone + Send + 'static {
    /// The request that continues this one from `since`. A count
    /// (`--last N`) was served by the first stream and is not applied
    /// again; the filters and the end stay.
    fn resumed(&self, since: Timestamp) -> Self;

    /// Whether this asks only for what happens from now on, so that a
    /// stream lost before printing anything resumes from when it opened.
    fn starts_now(&self) -> bool;
}

/// The requests of GetFlows, GetAgentEvents and GetDebugEvents count and
/// start with fields of the same names, which no trait reaches: what
/// resuming does with them is written here once for the three.
macro_rules! resume_by_fields {
    ($($request:ty),+) => {$(
        impl Resume for $request {
            fn resumed(&self, since: Timestamp) -> Self {
                Self {
                    number: 0,
                    first: false,
                    since: Some(since),
                    ..self.clone()
                }
            }

            fn starts_now(&self) -> bool {
                self.number == 0 && self.since.is_none()
            }
        }
    )+};
}

resume_by_fields!(
    GetFlowsRequest,
    GetAgentEventsRequest,
    GetDebugEventsRequest
);

/// Observer.GetFlows, its responses read as `R`: decoded, or as received
/// (`Encoded`).
pub struct Flows<R = GetFlowsResponse>(PhantomData<R>);

/// A GetFlows call: the request, and whether the flows are read headline
/// only (see `Connection::get_flows`).
#[derive(Debug, Clone, PartialEq)]
pub struct FlowsCall {
    pub request: GetFlowsRequest,
    pub headline_only: bool,
}

impl Resume for FlowsCall {
    fn resumed(&self, since: Timestamp) -> Self {
        Self {
            request: self.request.resumed(since),
            headline_only: self.headline_only,
        }
    }

    fn starts_now(&self) -> bool {
        self.request.starts_now()
    }
}

/// How GetFlows responses are read, for a followed call.
pub trait FlowsResponse: PartialEq + Send + Sized + 'static {
    fn open(
        connection: &Connection,
        call: FlowsCall,
    ) -> impl Future<Output = Result<EventStream<Self>, SourceError>> + Send;

    /// When a flow or lost-events notice was observed; node status is
    /// made up as it is sent.
    fn time(&self) -> Option<Timestamp>;

    fn release(self) {}
}

impl FlowsResponse for GetFlowsResponse {
    async fn open(
        connection: &Connection,
        call: FlowsCall,
    ) -> Result<EventStream<GetFlowsResponse>, SourceError> {
        connection.get_flows(call.request, call.headline_only).await
    }

    fn time(&self) -> Option<Timestamp> {
        match self.response_types {
            Some(ResponseTypes::Flow(_) | ResponseTypes::LostEvents(_)) => self.time,
            Some(ResponseTypes::NodeStatus(_)) | None => None,
        }
    }

    fn release(self) {
        super::recycle(self);
    }
}

impl FlowsResponse for Encoded {
    async fn open(
        connection: &Connection,
        call: FlowsCall,
    ) -> Result<EventStream<Encoded>, SourceError> {
        // Kept whole, as received: there is no headline reading of bytes.
        connection.get_encoded_flows(call.request).await
    }

    fn time(&self) -> Option<Timestamp> {
        Encoded::time(self)
    }
}

impl<R: FlowsResponse> Feed for Flows<R> {
    type Request = FlowsCall;
    type Response = R;

    async fn open(connection: &Connection, call: FlowsCall) -> Result<EventStream<R>, SourceError> {
        R::open(connection, call).await
    }

    fn time(response: &R) -> Option<Timestamp> {
        response.time()
    }

    fn release(response: R) {
        response.release();
    }
}

/// GetAgentEvents and GetDebugEvents: one call for two kinds of event,
/// whose responses all carry their time.
macro_rules! events_feed {
    ($(#[$doc:meta])* $feed:ident: $request:ty => $response:ty, $call:ident) => {
        $(#[$doc])*
        pub struct $feed;

        impl Feed for $feed {
            type Request = $request;
            type Response = $response;

            async fn open(
                connection: &Connection,
                request: $request,
            ) -> Result<EventStream<$response>, SourceError> {
                connection.$call(request).await
            }

            fn time(response: &$response) -> Option<Timestamp> {
                response.time
            }
        }
    };
}

events_feed!(
    /// Observer.GetAgentEvents.
    AgentEvents: GetAgentEventsRequest => GetAgentEventsResponse, get_agent_events
);

events_feed!(
    /// Observer.GetDebugEvents.
    DebugEvents: GetDebugEventsRequest => GetDebugEventsResponse, get_debug_events
);

// === impl Backoff ===

/// Exponential backoff with jitter: about `initial`, doubling to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
    rng: fastrand::Rng,
}

impl Default for Backoff {
    /// 100 ms doubling to 5 s, as gRPC clients back off.
    fn default() -> Self {
        Self::new(Duration::from_millis(100), Duration::from_secs(5))
    }
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max: max.max(initial),
            next: initial,
            rng: fastrand::Rng::new(),
        }
    }

    /// The same delays on every run, for tests.
    pub fn seeded(mut self, seed: u64) -> Self {
        self.rng = fastrand::Rng::with_seed(seed);
        self
    }

    /// The wait before the next attempt: the current step ±20%, so that
    /// clients cut off together do not come back together.
    pub fn next_delay(&mut self) -> Duration {
        let step = self.next;
        self.next = (self.next * 2).min(self.max);
        step.mul_f64(0.8 + 0.4 * self.rng.f64()).min(self.max)
    }

    /// Starts again from the shortest delay.
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

// === impl Printed ===

/// Where the printer hands each response back once it is printed.
pub struct Printed<F: Feed>(Option<Arc<Mutex<Boundary<F::Response>>>>);

/// The responses printed at the latest time, which a resumed stream sends
/// again.
struct Boundary<R> {
    time: Option<Timestamp>,
    kept: Vec<R>,
}

impl<F: Feed> Printed<F> {
    /// For a stream that is never resumed: responses go straight back to
    /// the reader.
    pub fn release() -> Self {
        Self(None)
    }

    /// Whether a stream may be resumed, so that consumed responses are
    /// worth handing back.
    pub fn resumes(&self) -> bool {
        self.0.is_some()
    }

    /// Takes a response that was printed.
    pub fn give(&self, response: F::Response) {
        let (Some(boundary), Some(time)) = (&self.0, F::time(&response)) else {
            return F::release(response);
        };
        let mut boundary = boundary.lock().unwrap_or_else(PoisonError::into_inner);
        match boundary.time.cmp(&Some(time)) {
            Ordering::Less => {
                boundary.kept.drain(..).for_each(F::release);
                boundary.time = Some(time);
                boundary.kept.push(response);
            }
            Ordering::Equal => boundary.kept.push(response),
            // Older than what was printed already: a resumed stream starts
            // after it.
            Ordering::Greater => F::release(response),
        }
    }
}

// === impl Follow ===

/// The connection state of a followed call, as tokio-console's `conn.rs`
/// keeps it.
// The connected case is larger than the others; there is one of these.
#[allow(clippy::large_enum_variant)]
enum State<R> {
    /// Streaming; `opened` is when this stream was opened.
    Connected {
        stream: EventStream<R>,
        opened: Instant,
    },
    /// Waiting before the next attempt.
    Backoff,
    /// Dialing and opening the call again.
    Connecting,
    /// Ended with an error that retrying cannot cure.
    Done,
}

/// An outage being recovered from.
struct Outage {
    started: Instant,
    /// Set once a new stream is open, until it has proven itself.
    reopened: Option<Instant>,
}

/// A followed call that reconnects and resumes.
pub struct Follow<F: Feed> {
    dial: Dial,
    /// The request as first sent.
    request: F::Request,
    state: State<F::Response>,
    backoff: Backoff,
    printed: Arc<Mutex<Boundary<F::Response>>>,
    /// Where the stream being read resumed; responses before it were
    /// printed already.
    resumed_at: Option<Timestamp>,
    /// Which responses of the boundary the resumed stream has sent again.
    resent: Vec<bool>,
    /// When the first stream opened.
    opened_at: Timestamp,
    outage: Option<Outage>,
    /// A response that came with the end of an outage, sent after its
    /// notice.
    pending: Option<F::Response>,
    /// The address, for messages.
    target: String,
}

impl<F: Feed> Follow<F> {
    /// Follows `stream`, the answer to `request` on `connection`, dialing
    /// with `dial` when it is lost.
    pub fn new(
        request: F::Request,
        connection: &Connection,
        stream: EventStream<F::Response>,
        dial: Dial,
        backoff: Backoff,
    ) -> Self {
        Self {
            dial,
            request,
            state: State::Connected {
                stream,
                opened: Instant::now(),
            },
            backoff,
            printed: Arc::new(Mutex::new(Boundary {
                time: None,
                kept: Vec::new(),
            })),
            resumed_at: None,
            resent: Vec::new(),
            opened_at: Timestamp::from(chrono::Utc::now()),
            outage: None,
            pending: None,
            target: connection.target().to_owned(),
        }
    }

    /// The handle the printer gives printed responses back to.
    pub fn printed(&self) -> Printed<F> {
        Printed(Some(Arc::clone(&self.printed)))
    }

    /// The responses, with a notice (`SourceError::Reconnecting`,
    /// `SourceError::Reconnected`) where the connection was lost and where
    /// it is back.
    pub fn into_stream(self) -> EventStream<F::Response> {
        // Boxed, so that each response moves a pointer in and out of the
        // future that reads it, not the whole state.
        let follow = Box::new(self);
        Box::pin(futures_util::stream::unfold(follow, |mut follow| async {
            let item = follow.next().await?;
            Some((item, follow))
        }))
    }

    async fn next(&mut self) -> Option<Result<F::Response, SourceError>> {
        if let Some(response) = self.pending.take() {
            return Some(Ok(response));
        }
        loop {
            match &mut self.state {
                State::Connected { stream, opened } => {
                    let item = match self.outage.as_ref().and_then(|o| o.reopened) {
                        // Not yet proven: a quiet stream that stays up is
                        // back too.
                        Some(reopened) => tokio::select! {
                            item = stream.next() => item,
                            () = tokio::time::sleep_until(reopened + SETTLED) => {
                                if let Some(notice) = self.back() {
                                    return Some(Err(notice));
                                }
                                continue;
                            }
                        },
                        None => stream.next().await,
                    };
                    let opened = *opened;
                    match item {
                        Some(Ok(response)) => {
                            if self.was_printed(&response) {
                                F::release(response);
                                continue;
                            }
                            if let Some(notice) = self.back() {
                                self.pending = Some(response);
                                return Some(Err(notice));
                            }
                            return Some(Ok(response));
                        }
                        Some(Err(error)) => match retry_cause(&error) {
                            Some(cause) => {
                                if let Some(notice) = self.lost(cause, opened) {
                                    return Some(Err(notice));
                                }
                            }
                            None => {
                                self.state = State::Done;
                                return Some(Err(error));
                            }
                        },
                        None => {
                            let cause = "the server ended the stream".to_owned();
                            if let Some(notice) = self.lost(cause, opened) {
                                return Some(Err(notice));
                            }
                        }
                    }
                }
                State::Backoff => {
                    tokio::time::sleep(self.backoff.next_delay()).await;
                    self.state = State::Connecting;
                }
                State::Connecting => match self.reopen().await {
                    Ok(stream) => {
                        let now = Instant::now();
                        if let Some(outage) = &mut self.outage {
                            outage.reopened = Some(now);
                        }
                        self.state = State::Connected {
                            stream,
                            opened: now,
                        };
                    }
                    Err(error) if retry_cause(&error).is_some() => self.state = State::Backoff,
                    Err(error) => {
                        self.state = State::Done;
                        return Some(Err(error));
                    }
                },
                State::Done => return None,
            }
        }
    }

    /// The stream was lost: back off, and say so unless this outage was
    /// reported already.
    fn lost(&mut self, cause: String, opened: Instant) -> Option<SourceError> {
        if opened.elapsed() >= HEALTHY {
            self.backoff.reset();
        }
        self.state = State::Backoff;
        match &mut self.outage {
            Some(outage) => {
                outage.reopened = None;
                None
            }
            None => {
                self.outage = Some(Outage {
                    started: Instant::now(),
                    reopened: None,
                });
                Some(SourceError::Reconnecting {
                    address: self.target.clone(),
                    cause,
                })
            }
        }
    }

    /// The resumed stream has proven itself: the notice that says so.
    fn back(&mut self) -> Option<SourceError> {
        let outage = self.outage.take()?;
        let reopened = outage.reopened?;
        Some(SourceError::Reconnected {
            after: reopened.duration_since(outage.started),
            resumed: match self.resumed_at {
                Some(time) => format!("resumed at {}", format_time(time)),
                None => "nothing was printed before, so the request was sent again".to_owned(),
            },
        })
    }

    /// Dials again and makes the call resumed from the last response
    /// printed.
    async fn reopen(&mut self) -> Result<EventStream<F::Response>, SourceError> {
        let connection = (self.dial)().await?;
        self.target = connection.target().to_owned();
        let (request, since) = {
            let boundary = self.printed.lock().unwrap_or_else(PoisonError::into_inner);
            self.resent.clear();
            self.resent.resize(boundary.kept.len(), false);
            match boundary.time {
                Some(time) => (self.request.resumed(time), Some(time)),
                None if self.request.starts_now() => {
                    (self.request.resumed(self.opened_at), Some(self.opened_at))
                }
                None => (self.request.clone(), None),
            }
        };
        let stream = F::open(&connection, request).await?;
        self.resumed_at = since;
        Ok(stream)
    }

    /// Whether the resumed stream sends a response that was printed
    /// before the outage.
    fn was_printed(&mut self, response: &F::Response) -> bool {
        let (Some(since), Some(time)) = (self.resumed_at, F::time(response)) else {
            return false;
        };
        match time.cmp(&since) {
            Ordering::Less => true,
            Ordering::Greater => false,
            Ordering::Equal => {
                let boundary = self.printed.lock().unwrap_or_else(PoisonError::into_inner);
                let found = boundary
                    .kept
                    .iter()
                    .zip(&self.resent)
                    .position(|(kept, &resent)| !resent && kept == response);
                match found {
                    Some(index) => {
                        self.resent[index] = true;
                        true
                    }
                    None => false,
                }
            }
        }
    }
}

/// Why retrying may cure `error`, or `None` when it cannot: the server
/// refused the credentials or the request, TLS verification failed.
fn retry_cause(error: &SourceError) -> Option<String> {
    match error {
        SourceError::Connect { reason, .. } | SourceError::Protocol { reason, .. } => {
            Some(reason.clone())
        }
        // The relay's pod being replaced, the Kubernetes API out of reach
        // for a moment: it worked before, so it is worth another try.
        SourceError::PortForward(error) => Some(error.to_string()),
        SourceError::Status(status) => {
            // A status made here from a transport error (a reset
            // connection, a GOAWAY, a broken tunnel) has its cause
            // attached; one the server sent has none, and only says
            // "unavailable" when retrying may help.
            let transport = std::error::Error::source(status).is_some();
            let retry = transport
                || matches!(
                    status.code(),
                    tonic::Code::Unavailable | tonic::Code::Cancelled
                );
            retry.then(|| error.to_string())
        }
        _ => None,
    }
}

fn format_time(time: Timestamp) -> String {
    time.to_datetime().map_or_else(
        || format!("{}.{:09}", time.seconds, time.nanos),
        |time| time.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{flow::Flow, relay::NodeStatusEvent};

    #[test]
    fn backoff_doubles_to_its_limit_with_jitter_and_resets() {
        let mut backoff = Backoff::default().seeded(7);
        let steps = [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000];
        for step in steps {
            let delay = backoff.next_delay().as_secs_f64() * 1000.0;
            let step = f64::from(step);
            assert!(
                (step * 0.8..=(step * 1.2).min(5000.0)).contains(&delay),
                "{delay} ms for a step of {step} ms"
            );
        }
        backoff.reset();
        let delay = backoff.next_delay();
        assert!((80..=120).contains(&delay.as_millis()), "{delay:?}");
    }

    #[test]
    fn jitter_spreads_clients_cut_off_together() {
        let delays: Vec<Duration> = (0..5)
            .map(|seed| Backoff::default().seeded(seed).next_delay())
            .collect();
        assert!(
            delays.windows(2).any(|pair| pair[0] != pair[1]),
            "{delays:?}"
        );
    }

    fn flow(seconds: i64, summary: &str) -> GetFlowsResponse {
        #[allow(deprecated, reason = "Summary is deprecated in the API")]
        let flow = Flow {
            summary: summary.to_owned(),
            ..Flow::default()
        };
        GetFlowsResponse {
            time: Some(Timestamp { seconds, nanos: 0 }),
            node_name: "node".to_owned(),
            response_types: Some(ResponseTypes::Flow(Box::new(flow))),
        }
    }

    #[test]
    fn only_the_responses_printed_at_the_latest_time_are_kept() {
        let boundary = Arc::new(Mutex::new(Boundary {
            time: None,
            kept: Vec::new(),
        }));
        let printed = Printed::<Flows>(Some(Arc::clone(&boundary)));
        printed.give(flow(1, "a"));
        printed.give(flow(2, "b"));
        printed.give(flow(2, "c"));
        // Older than the latest (out of order), and made up by the relay.
        printed.give(flow(1, "d"));
        printed.give(GetFlowsResponse {
            time: Some(Timestamp {
                seconds: 3,
                nanos: 0,
            }),
            response_types: Some(ResponseTypes::NodeStatus(NodeStatusEvent::default())),
            ..GetFlowsResponse::default()
        });
        let boundary = boundary.lock().expect("not poisoned");
        assert_eq!(
            boundary.time,
            Some(Timestamp {
                seconds: 2,
                nanos: 0
            })
        );
        assert_eq!(boundary.kept, [flow(2, "b"), flow(2, "c")]);
    }

    #[test]
    fn what_retrying_can_cure() {
        let retried = |error: SourceError| retry_cause(&error).is_some();
        assert!(retried(SourceError::Status(tonic::Status::unavailable(
            "relay restarting"
        ))));
        assert!(retried(SourceError::Status(tonic::Status::cancelled(
            "stream cancelled"
        ))));
        assert!(retried(SourceError::Connect {
            address: "relay:4245".into(),
            reason: "connection refused".into(),
            hint: String::new(),
        }));
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(retried(SourceError::Status(tonic::Status::from_error(
            Box::new(reset)
        ))));

        assert!(!retried(SourceError::Unauthenticated(
            tonic::Status::unauthenticated("invalid credentials")
        )));
        for status in [
            tonic::Status::invalid_argument("bad filter"),
            tonic::Status::permission_denied("no"),
            tonic::Status::unknown("the relay's own failure"),
            tonic::Status::unimplemented("no such call"),
        ] {
            assert!(!retried(SourceError::Status(status)));
        }
        assert!(!retried(SourceError::Tls {
            address: "relay:4245".into(),
            reason: "the server's certificate is not trusted".into(),
        }));
        assert!(!retried(SourceError::Settings("no key".into())));
    }

    #[test]
    fn resumed_requests_keep_the_filters_but_not_the_count() {
        let request = GetFlowsRequest {
            number: 20,
            follow: true,
            whitelist: vec![Default::default()],
            ..GetFlowsRequest::default()
        };
        let call = FlowsCall {
            request: request.clone(),
            headline_only: true,
        };
        let since = Timestamp {
            seconds: 5,
            nanos: 6,
        };
        let resumed = call.resumed(since);
        assert_eq!(
            resumed,
            FlowsCall {
                request: GetFlowsRequest {
                    number: 0,
                    since: Some(since),
                    ..request
                },
                headline_only: true,
            }
        );
        assert!(!call.starts_now());
        assert!(
            FlowsCall {
                request: GetFlowsRequest {
                    follow: true,
                    ..GetFlowsRequest::default()
                },
                headline_only: false,
            }
            .starts_now()
        );
    }
}
