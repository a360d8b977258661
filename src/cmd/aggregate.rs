//! `hubl observe --aggregate-by`: a summary of groups instead of flows,
//! once at the end of the stream, or every `--aggregate-interval` with
//! `--follow`. The request, the filters and the source are observe's.

use std::{
    io::{self, BufWriter, Write},
    ops::ControlFlow,
    sync::Arc,
    task::Poll,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use tokio_stream::StreamExt;

use super::{Outcome, Settings, observe};
use crate::{
    aggregate::{Aggregator, Key, Millis, SortBy, Summary, SummaryFormat},
    cli::{ObserveArgs, Output, SortOrder},
    filter, printer,
    proto::{
        Timestamp,
        observer::{GetFlowsRequest, GetFlowsResponse, get_flows_response::ResponseTypes},
    },
    serve::Demo,
    source::{Flows, Printed, ResponseStream},
};

const OUTPUT_BUFFER: usize = 64 * 1024;

/// Summaries of a followed stream come this often unless told otherwise.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

pub async fn run(args: &ObserveArgs, settings: &Arc<Settings>) -> anyhow::Result<Outcome> {
    let key = key_of(args)?;
    let format = match args.formatting.output {
        Output::Table => SummaryFormat::Table,
        Output::Compact => SummaryFormat::Compact,
        Output::Json | Output::Jsonpb => SummaryFormat::Json,
        Output::Dict => {
            bail!(
                "dict output format is not compatible with --aggregate-by: use table, compact or json"
            )
        }
    };
    let follow = args.selectors.follow;
    let request = request(args, &key, follow)?;
    if args.other.print_raw_filters {
        let mut stdout = io::stdout().lock();
        printer::write_raw_filters(&mut stdout, &request)?;
        stdout.flush()?;
        return Ok(Outcome::Success);
    }
    let summary = Summary {
        format,
        time_format: observe::time_format(&args.formatting.time_format),
        sort: sort_by(args.aggregate.sort_by.unwrap_or(SortOrder::Flows)),
    };
    let interval = args
        .aggregate
        .aggregate_interval
        .unwrap_or(DEFAULT_INTERVAL);
    let mut aggregator: Aggregator =
        Aggregator::new(key, max_groups(args), interval.as_millis() as u64);
    let demo = match args.other.demo {
        true => Some(Demo::start().await?),
        false => None,
    };
    let stream = open(args, request, settings, demo.as_ref(), &aggregator).await?;
    let mut clock = match follow {
        true => Clock::wall(),
        false => Clock::Flows { latest: 0 },
    };
    let mut out = BufWriter::with_capacity(OUTPUT_BUFFER, io::stdout().lock());
    let mut report = |aggregator: &Aggregator, clock: &Clock, first: bool| -> io::Result<()> {
        if !first && format != SummaryFormat::Json {
            out.write_all(b"\n")?;
        }
        summary.write(&mut out, aggregator, clock.now())?;
        out.flush()?;
        warn_evicted(aggregator, args);
        Ok(())
    };
    let ticks = follow.then(|| {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks
    });
    let mut summaries = 0u64;
    let outcome = feed(
        stream,
        &mut aggregator,
        &mut clock,
        args.other.silent_errors,
        ticks,
        |aggregator, clock| {
            summaries += 1;
            report(aggregator, clock, summaries == 1).map(ControlFlow::Continue)
        },
    )
    .await?;
    report(&aggregator, &clock, summaries == 0)?;
    Ok(outcome)
}

/// The grouping key of `--aggregate-by`, naming hosts as the formatting
/// flags ask.
pub(super) fn key_of(args: &ObserveArgs) -> anyhow::Result<Key> {
    let mut values = args.aggregate.aggregate_by.clone();
    if values.is_empty() {
        values.push("source,destination,port,verdict".to_owned());
    }
    let key = Key::parse(&values)?;
    let ip_translation = args.formatting.ip_translation && !args.formatting.numeric;
    Ok(key.with_ip_translation(ip_translation))
}

pub(super) fn max_groups(args: &ObserveArgs) -> usize {
    usize::try_from(args.aggregate.max_groups).unwrap_or(usize::MAX)
}

pub(super) fn sort_by(order: SortOrder) -> SortBy {
    match order {
        SortOrder::Flows => SortBy::Flows,
        SortOrder::Rate => SortBy::Rate,
        SortOrder::Dropped => SortBy::Dropped,
        SortOrder::Forwarded => SortBy::Forwarded,
        SortOrder::LastSeen => SortBy::LastSeen,
        SortOrder::Latency => SortBy::Latency,
        SortOrder::Key => SortBy::Key,
    }
}

/// Observe's request for these flags, with `follow` as given, and the
/// fields the key needs added to the default field mask.
pub(super) fn request(
    args: &ObserveArgs,
    key: &Key,
    follow: bool,
) -> anyhow::Result<GetFlowsRequest> {
    let mut selectors = args.selectors.clone();
    selectors.follow = follow;
    let mut request = filter::build_request(
        &filter::RequestFlags {
            selectors: &selectors,
            filters: &args.filter_order,
            allowlist: &args.raw_filters.allowlist,
            denylist: &args.raw_filters.denylist,
            field_mask: &args.other.field_mask,
            use_default_field_masks: args.other.use_default_field_masks,
            json_output: false,
            from_file: args.other.input_file.is_some(),
        },
        chrono::Utc::now(),
    )?;
    if args.other.field_mask.is_empty()
        && let Some(mask) = &mut request.field_mask
    {
        mask.paths
            .extend(key.extra_mask_paths().iter().map(|path| path.to_string()));
    }
    Ok(request)
}

/// Observe's source for these flags, followed through lost connections
/// as observe follows it: a capture is read headline only unless the key
/// needs more.
pub(super) async fn open<T: crate::aggregate::Tally>(
    args: &ObserveArgs,
    request: GetFlowsRequest,
    settings: &Arc<Settings>,
    demo: Option<&Demo>,
    aggregator: &Aggregator<T>,
) -> anyhow::Result<(ResponseStream, Printed<Flows>)> {
    observe::flows(
        observe::Source {
            input_file: args.other.input_file.as_deref(),
            headline_only: !aggregator.key().needs_whole_flows(),
            follow: args.selectors.follow,
            reconnect: args.selectors.reconnect,
            demo,
        },
        request,
        settings,
    )
    .await
    .context("cannot aggregate flows")
}

fn warn_evicted(aggregator: &Aggregator, args: &ObserveArgs) {
    let (groups, flows) = aggregator.evicted();
    if groups > 0 && !args.other.silent_errors {
        eprintln!(
            "Warning: {groups} groups ({flows} flows) were evicted to stay within --max-groups {}; raise it to keep them",
            args.aggregate.max_groups
        );
    }
}

/// The time rates are measured on.
pub(super) enum Clock {
    /// Wall time since the start, for live streams.
    Wall(Instant),
    /// The latest flow time, for captures and history, whose flows came
    /// long before they are read.
    Flows { latest: Millis },
}

impl Clock {
    pub fn wall() -> Self {
        Clock::Wall(Instant::now())
    }

    pub fn now(&self) -> Millis {
        match self {
            Clock::Wall(start) => start.elapsed().as_millis() as Millis,
            Clock::Flows { latest } => *latest,
        }
    }

    /// The time to count `response` at.
    pub fn at(&mut self, response: &GetFlowsResponse) -> Millis {
        match self {
            Clock::Wall(start) => start.elapsed().as_millis() as Millis,
            Clock::Flows { latest } => {
                if let Some(time) = flow_time(response) {
                    *latest = (*latest).max(time);
                }
                *latest
            }
        }
    }
}

fn flow_time(response: &GetFlowsResponse) -> Option<Millis> {
    let time: Timestamp = match &response.response_types {
        Some(ResponseTypes::Flow(flow)) => flow.time?,
        _ => response.time?,
    };
    let millis = time.seconds.checked_mul(1000)? + i64::from(time.nanos / 1_000_000);
    u64::try_from(millis).ok()
}

/// What `feed` counts flows in: the engine, or what is built on it.
pub(super) trait Record {
    fn record(&mut self, flow: &crate::proto::flow::Flow, now: Millis);
}

impl<T: crate::aggregate::Tally> Record for Aggregator<T> {
    fn record(&mut self, flow: &crate::proto::flow::Flow, now: Millis) {
        Aggregator::record(self, flow, now);
    }
}

impl Record for crate::map::ServiceMap {
    fn record(&mut self, flow: &crate::proto::flow::Flow, now: Millis) {
        crate::map::ServiceMap::record(self, flow, now);
    }
}

/// Responses between two looks at the clock on a busy stream.
const TICK_CHECK: u32 = 256;

/// Counts every flow of `stream`, calling `tick` at each tick until the
/// stream ends, Ctrl-C or `tick` says to stop. Recoverable errors are
/// warnings, as in observe.
pub(super) async fn feed<R: Record>(
    (mut stream, consumed): (ResponseStream, Printed<Flows>),
    aggregator: &mut R,
    clock: &mut Clock,
    silent_errors: bool,
    mut ticks: Option<tokio::time::Interval>,
    mut tick: impl FnMut(&R, &Clock) -> io::Result<ControlFlow<()>>,
) -> anyhow::Result<Outcome> {
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    if super::listen_for_interrupt(interrupt.as_mut()).await {
        return Ok(Outcome::Interrupted);
    }
    let mut polled = 0u32;
    loop {
        // Ready responses are taken without a trip through select!.
        let item = match observe::poll_once(&mut stream).await {
            Some(item) => item,
            None => tokio::select! {
                item = stream.next() => item,
                _ = &mut interrupt => return Ok(Outcome::Interrupted),
                _ = next_tick(&mut ticks) => {
                    if tick(aggregator, clock)?.is_break() {
                        return Ok(Outcome::Success);
                    }
                    continue;
                }
            },
        };
        match item {
            None => return Ok(Outcome::Success),
            Some(Ok(response)) => {
                if let Some(ResponseTypes::Flow(flow)) = &response.response_types {
                    let now = clock.at(&response);
                    aggregator.record(flow, now);
                }
                consumed.give(response);
            }
            Some(Err(error)) if error.is_notice() => {
                if !silent_errors {
                    eprintln!("{error}");
                }
            }
            Some(Err(error)) if error.is_recoverable() => {
                if !silent_errors {
                    eprintln!("Warning: {error}");
                }
            }
            Some(Err(error)) => return Err(error.into()),
        }
        // A busy stream never waits, so ticks are checked here too, every
        // so many responses.
        polled = polled.wrapping_add(1);
        if polled.is_multiple_of(TICK_CHECK)
            && let Some(ticks) = &mut ticks
            && poll_tick(ticks).await
            && tick(aggregator, clock)?.is_break()
        {
            return Ok(Outcome::Success);
        }
    }
}

async fn next_tick(ticks: &mut Option<tokio::time::Interval>) {
    match ticks {
        Some(ticks) => {
            ticks.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn poll_tick(ticks: &mut tokio::time::Interval) -> bool {
    std::future::poll_fn(|cx| Poll::Ready(ticks.poll_tick(cx).is_ready())).await
}
