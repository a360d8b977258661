//! `hubl observe [flows]`.

use std::{
    env,
    io::{self, BufWriter, IsTerminal, Write},
    sync::Arc,
    task::Poll,
};

use anyhow::{Context, bail};
use clap::ValueEnum;
use tokio_stream::StreamExt;

use super::{Outcome, Settings, events::unwrap_unknown};
use crate::{
    cli::{ColorChoice, FormattingArgs, ObserveCommand, Output, TimeFormatArg, TimeFormatName},
    filter,
    printer::{self, Format, PrintOptions, Printer, TimeFormat},
    proto::observer::{GetFlowsRequest, GetFlowsResponse},
    serve::Demo,
    source::{
        self, Connection, Encoded, EventStream, FileSource, Flows, FlowsCall, FlowsResponse,
        Follow, Printed, ResponseStream,
    },
};

/// Large enough that a busy stream is written in few syscalls.
const OUTPUT_BUFFER: usize = 128 * 1024;

pub async fn run(command: &ObserveCommand, settings: &Arc<Settings>) -> anyhow::Result<Outcome> {
    let args = command.flow_args();
    if args.formatting.output == Output::Table && args.selectors.follow {
        bail!("table output format is not compatible with follow mode");
    }
    let json_output = matches!(args.formatting.output, Output::Json | Output::Jsonpb);
    if !args.other.field_mask.is_empty() && !json_output {
        bail!(
            "{} output format is not compatible with custom field mask",
            args.formatting
                .output
                .to_possible_value()
                .map_or_else(String::new, |value| value.get_name().to_owned())
        );
    }
    let request = filter::build_request(
        &filter::RequestFlags {
            selectors: &args.selectors,
            filters: &args.filter_order,
            allowlist: &args.raw_filters.allowlist,
            denylist: &args.raw_filters.denylist,
            field_mask: &args.other.field_mask,
            use_default_field_masks: args.other.use_default_field_masks,
            json_output,
            from_file: args.other.input_file.is_some(),
        },
        chrono::Utc::now(),
    )?;
    if args.other.print_raw_filters {
        let mut stdout = io::stdout().lock();
        printer::write_raw_filters(&mut stdout, &request)?;
        stdout.flush()?;
        return Ok(Outcome::Success);
    }
    warn_unknown_time_format(&args.formatting.time_format, args.other.silent_errors);
    let options = print_options(&args.formatting, io::stdout().is_terminal());

    // The demo relay serves from this task's runtime for as long as the
    // stream is read.
    let demo = match args.other.demo {
        true => Some(Demo::start().await?),
        false => None,
    };
    let source = Source {
        input_file: args.other.input_file.as_deref(),
        headline_only: !json_output,
        follow: args.selectors.follow,
        reconnect: args.selectors.reconnect,
        demo: demo.as_ref(),
    };
    let silent_errors = args.other.silent_errors;
    let printer = || {
        let stdout = io::stdout().lock();
        // `--silent-errors` silences node status events too, as in Hubble.
        let stderr: Box<dyn Write> = if silent_errors {
            Box::new(io::sink())
        } else {
            Box::new(io::stderr().lock())
        };
        Printer::new(
            options,
            BufWriter::with_capacity(OUTPUT_BUFFER, stdout),
            stderr,
        )
    };
    // JSON from a server is written straight from the bytes received.
    if json_output && source.input_file.is_none() {
        let (stream, printed) = server_flows::<Encoded>(source, request, settings).await?;
        return print_stream(stream, printer(), printed, silent_errors).await;
    }
    let (stream, printed) = flows(source, request, settings).await?;
    print_stream(stream, printer(), printed, silent_errors).await
}

/// Where a command's flows come from, as its flags say.
pub(super) struct Source<'a> {
    pub input_file: Option<&'a str>,
    /// Read a capture's flows headline only.
    pub headline_only: bool,
    /// `--follow`: the server's stream is followed through lost
    /// connections, unless `--reconnect=false` says otherwise.
    pub follow: bool,
    pub reconnect: Option<bool>,
    pub demo: Option<&'a Demo>,
}

/// The flows of a request, and where each is handed back once consumed
/// (so that a resumed stream skips what was consumed already). Every
/// command that reads flows (observe, metrics, aggregations, top, map)
/// reads them through this.
pub(super) async fn flows(
    source: Source<'_>,
    request: GetFlowsRequest,
    settings: &Arc<Settings>,
) -> anyhow::Result<(ResponseStream, Printed<Flows>)> {
    let Some(path) = source.input_file else {
        return server_flows(source, request, settings).await;
    };
    settings.refuse_port_forward_with("--input-file")?;
    let mut file = FileSource::new(path.to_owned());
    if source.headline_only {
        file = file.headline_only();
    }
    let stream = file
        .get_flows(&request)
        .with_context(|| format!("cannot read flows from {path}"))?;
    Ok((stream, Printed::release()))
}

/// The server's flows (or the demo relay's), read as `R`: once, or
/// followed through lost connections, dialed again as first and resumed
/// where the output stopped.
async fn server_flows<R: FlowsResponse>(
    source: Source<'_>,
    request: GetFlowsRequest,
    settings: &Arc<Settings>,
) -> anyhow::Result<(EventStream<R>, Printed<Flows<R>>)> {
    let resume = source.follow && settings.reconnect(source.reconnect)?;
    let connection = connect(settings, source.demo).await?;
    settings.log_request("Sending GetFlows request", &request);
    let call = FlowsCall {
        request,
        headline_only: source.headline_only,
    };
    let stream = R::open(&connection, call.clone())
        .await
        .map_err(unwrap_unknown)?;
    if !resume {
        return Ok((stream, Printed::release()));
    }
    let dial = settings.dialer(source.demo.map(Demo::server));
    let follow = Follow::<Flows<R>>::new(call, &connection, stream, dial, settings.backoff());
    let printed = follow.printed();
    Ok((follow.into_stream(), printed))
}

async fn connect(settings: &Settings, demo: Option<&Demo>) -> anyhow::Result<Connection> {
    match demo {
        Some(demo) => {
            settings.refuse_port_forward_with("--demo")?;
            settings.connect_to(&demo.server()).await
        }
        None => settings.connect().await,
    }
}

/// A response as a stream yields it, printed.
trait Print {
    fn print<W: Write, E: Write>(&self, printer: &mut Printer<W, E>) -> anyhow::Result<()>;
}

impl Print for GetFlowsResponse {
    fn print<W: Write, E: Write>(&self, printer: &mut Printer<W, E>) -> anyhow::Result<()> {
        Ok(printer.write_response(self)?)
    }
}

impl Print for Encoded {
    fn print<W: Write, E: Write>(&self, printer: &mut Printer<W, E>) -> anyhow::Result<()> {
        if printer.write_wire_json(self.bytes())? {
            return Ok(());
        }
        let response = self.decode().map_err(unwrap_unknown)?;
        Ok(printer.write_response(&response)?)
    }
}

/// Prints responses as they come, handing each back to `printed`. Output is
/// buffered, and flushed whenever the source has nothing ready, so a slow
/// stream still shows each flow at once while a fast one costs few writes.
async fn print_stream<R: FlowsResponse + Print, W: Write, E: Write>(
    mut stream: EventStream<R>,
    mut printer: Printer<W, E>,
    printed: Printed<Flows<R>>,
    silent_errors: bool,
) -> anyhow::Result<Outcome> {
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    if super::listen_for_interrupt(interrupt.as_mut()).await {
        printer.finish()?;
        return Ok(Outcome::Interrupted);
    }
    loop {
        let item = match poll_once(&mut stream).await {
            Some(item) => item,
            None => {
                printer.flush()?;
                tokio::select! {
                    item = stream.next() => item,
                    _ = &mut interrupt => {
                        printer.finish()?;
                        return Ok(Outcome::Interrupted);
                    }
                }
            }
        };
        match item {
            None => break,
            Some(Ok(response)) => {
                response.print(&mut printer)?;
                printed.give(response);
            }
            Some(Err(error)) if error.is_notice() => {
                if !silent_errors {
                    printer.flush()?;
                    eprintln!("{error}");
                }
            }
            Some(Err(error)) if error.is_recoverable() => {
                if !silent_errors {
                    printer.flush()?;
                    eprintln!("Warning: {error}");
                }
            }
            Some(Err(error)) => {
                printer.finish()?;
                return Err(unwrap_unknown(error));
            }
        }
    }
    printer.finish()?;
    Ok(Outcome::Success)
}

/// The next item if the stream has one ready, without waiting.
pub(super) async fn poll_once<T>(
    stream: &mut EventStream<T>,
) -> Option<Option<Result<T, source::SourceError>>> {
    loop {
        let polled = std::future::poll_fn(|cx| {
            Poll::Ready(match stream.as_mut().poll_next(cx) {
                Poll::Ready(item) => Some(item),
                Poll::Pending => None,
            })
        })
        .await;
        if polled.is_some() || tokio::task::coop::has_budget_remaining() {
            return polled;
        }
        // Not idle: a gRPC stream gives the runtime its turn when the task
        // budget is spent (see `source::grpc`), and the caller would flush
        // its output on every such turn.
        tokio::task::yield_now().await;
    }
}

pub(super) fn print_options(formatting: &FormattingArgs, stdout_is_terminal: bool) -> PrintOptions {
    let format = match formatting.output {
        Output::Compact => Format::Compact,
        Output::Dict => Format::Dict,
        Output::Table => Format::Table,
        Output::Json | Output::Jsonpb => Format::Json,
    };
    let color = match formatting.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            stdout_is_terminal
                && env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
                && env::var("TERM").map_or(true, |term| term != "dumb")
        }
    } && format != Format::Table;
    PrintOptions {
        format,
        time_format: time_format(&formatting.time_format),
        node_name: formatting.print_node_name,
        policy_names: formatting.print_policy_names,
        color,
        // Numeric output shows addresses, never names.
        ip_translation: formatting.ip_translation && !formatting.numeric,
        debug: false,
    }
}

pub(super) fn time_format(arg: &TimeFormatArg) -> TimeFormat {
    match arg.name {
        TimeFormatName::StampMilli => TimeFormat::StampMilli,
        TimeFormatName::YearMonthDay => TimeFormat::YearMonthDay,
        TimeFormatName::YearMonthDayHour => TimeFormat::YearMonthDayHour,
        TimeFormatName::YearMonthDayHourMinute => TimeFormat::YearMonthDayHourMinute,
        TimeFormatName::RFC3339 => TimeFormat::Rfc3339,
        TimeFormatName::RFC3339Milli => TimeFormat::Rfc3339Milli,
        TimeFormatName::RFC3339Micro => TimeFormat::Rfc3339Micro,
        TimeFormatName::RFC3339Nano => TimeFormat::Rfc3339Nano,
        TimeFormatName::RFC1123Z => TimeFormat::Rfc1123Z,
    }
}

/// Hubble prints an unknown `--time-format` as StampMilli without a word;
/// hubl does the same, and says so, naming the formats it knows.
pub(super) fn warn_unknown_time_format(arg: &TimeFormatArg, silent_errors: bool) {
    let Some(unknown) = &arg.unknown else {
        return;
    };
    if silent_errors {
        return;
    }
    let names: Vec<String> = TimeFormatName::HUBBLE_ORDER
        .iter()
        .filter_map(|name| name.to_possible_value())
        .map(|value| value.get_name().to_owned())
        .collect();
    eprintln!(
        "Warning: unknown --time-format {unknown:?}, printing times as StampMilli; \
         the formats are {}",
        names.join(", ")
    );
}
