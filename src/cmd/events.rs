//! `hubl observe agent-events` and `hubl observe debug-events`.

use std::{
    io::{self, BufWriter},
    sync::Arc,
    time::Duration,
};

use anyhow::bail;
use tokio_stream::StreamExt;

use super::{
    Outcome, Settings,
    observe::{time_format, warn_unknown_time_format},
};
use crate::{
    cli::{EventsArgs, Output, SelectorArgs},
    filter,
    printer::{EventPrinter, Format},
    proto::observer::{GetAgentEventsRequest, GetDebugEventsRequest},
    source::{
        AgentEvents, Connection, DebugEvents, EventStream, Feed, Follow, Printed, SourceError,
    },
};

/// Hubble prints this many events when not told how many.
const DEFAULT_EVENT_COUNT: u64 = 20;

pub async fn agent(args: &EventsArgs, settings: &Arc<Settings>) -> anyhow::Result<Outcome> {
    let mut printer = printer(args)?;
    let (since, until) = filter::time_range(&args.selectors, chrono::Utc::now())?;
    let request = GetAgentEventsRequest {
        number: number(&args.selectors),
        follow: args.selectors.follow,
        since,
        until,
        ..Default::default()
    };
    let connection = settings.connect().await?;
    settings.log_request("Sending GetAgentEvents request", &request);
    let (stream, printed) = open::<AgentEvents>(args, settings, &connection, request).await?;
    let outcome = print_stream(
        stream,
        &mut printer,
        printed,
        EventPrinter::write_agent_event,
        args.other.silent_errors,
    )
    .await;
    // The table is written even when the stream failed, as Hubble does.
    printer.finish()?;
    outcome
}

pub async fn debug(args: &EventsArgs, settings: &Arc<Settings>) -> anyhow::Result<Outcome> {
    let mut printer = printer(args)?;
    let (since, until) = filter::time_range(&args.selectors, chrono::Utc::now())?;
    let request = GetDebugEventsRequest {
        number: number(&args.selectors),
        follow: args.selectors.follow,
        since,
        until,
        ..Default::default()
    };
    let connection = settings.connect().await?;
    settings.log_request("Sending GetDebugEvents request", &request);
    let (stream, printed) = open::<DebugEvents>(args, settings, &connection, request).await?;
    let outcome = print_stream(
        stream,
        &mut printer,
        printed,
        EventPrinter::write_debug_event,
        args.other.silent_errors,
    )
    .await;
    // The table is written even when the stream failed, as Hubble does.
    printer.finish()?;
    outcome
}

/// Makes the call; when following, as a stream that reconnects unless
/// `--reconnect=false`.
async fn open<F: Feed>(
    args: &EventsArgs,
    settings: &Arc<Settings>,
    connection: &Connection,
    request: F::Request,
) -> anyhow::Result<(EventStream<F::Response>, Printed<F>)> {
    if !(args.selectors.follow && settings.reconnect(args.selectors.reconnect)?) {
        let stream = F::open(connection, request).await.map_err(unwrap_unknown)?;
        return Ok((stream, Printed::release()));
    }
    let stream = F::open(connection, request.clone())
        .await
        .map_err(unwrap_unknown)?;
    let follow = Follow::<F>::new(
        request,
        connection,
        stream,
        settings.dialer(None),
        settings.backoff(),
    );
    let printed = follow.printed();
    Ok((follow.into_stream(), printed))
}

type Stdout = BufWriter<io::StdoutLock<'static>>;

fn printer(args: &EventsArgs) -> anyhow::Result<EventPrinter<Stdout>> {
    let format = match args.formatting.output {
        Output::Compact => Format::Compact,
        Output::Dict => Format::Dict,
        Output::Json | Output::Jsonpb => Format::Json,
        Output::Table => Format::Table,
    };
    if format == Format::Table && args.selectors.follow {
        bail!("table output format is not compatible with follow mode");
    }
    warn_unknown_time_format(&args.formatting.time_format, args.other.silent_errors);
    Ok(EventPrinter::new(
        format,
        time_format(&args.formatting.time_format),
        args.formatting.print_node_name,
        BufWriter::new(io::stdout().lock()),
    ))
}

/// How many events to ask for: with a time range, `--last N` as given;
/// otherwise `--all` is every one and the default 20, following or not
/// (`--first` does not apply).
fn number(selectors: &SelectorArgs) -> u64 {
    let ranged = selectors.since.is_some() || (selectors.until.is_some() && !selectors.follow);
    if ranged {
        selectors.last
    } else if selectors.all {
        u64::MAX
    } else if selectors.last > 0 {
        selectors.last
    } else {
        DEFAULT_EVENT_COUNT
    }
}

/// Hubble shows only the message of errors the server reports as Unknown
/// (its own failures, worded for users).
pub(super) fn unwrap_unknown(error: SourceError) -> anyhow::Error {
    match error {
        SourceError::Status(status) if status.code() == tonic::Code::Unknown => {
            anyhow::anyhow!("{}", status.message())
        }
        other => other.into(),
    }
}

/// Prints events as they come, handing each back to `printed`, flushing
/// whenever the stream idles, until it ends, fails or Ctrl-C.
async fn print_stream<F: Feed>(
    mut stream: EventStream<F::Response>,
    printer: &mut EventPrinter<Stdout>,
    printed: Printed<F>,
    write: fn(&mut EventPrinter<Stdout>, &F::Response) -> io::Result<()>,
    silent_errors: bool,
) -> anyhow::Result<Outcome> {
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    if super::listen_for_interrupt(interrupt.as_mut()).await {
        return Ok(Outcome::Interrupted);
    }
    loop {
        let item = match tokio::time::timeout(Duration::ZERO, stream.next()).await {
            Ok(item) => item,
            Err(_idle) => {
                printer.flush()?;
                tokio::select! {
                    item = stream.next() => item,
                    _ = &mut interrupt => return Ok(Outcome::Interrupted),
                }
            }
        };
        match item {
            None => return Ok(Outcome::Success),
            Some(Ok(event)) => {
                write(printer, &event)?;
                printed.give(event);
            }
            Some(Err(notice)) if notice.is_notice() => {
                if !silent_errors {
                    printer.flush()?;
                    eprintln!("{notice}");
                }
            }
            Some(Err(SourceError::Status(status))) if status.code() == tonic::Code::Cancelled => {
                return Ok(Outcome::Success);
            }
            Some(Err(error)) => {
                printer.flush()?;
                return Err(unwrap_unknown(error));
            }
        }
    }
}
