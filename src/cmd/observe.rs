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
    serve::Demo,
    source::{self, Connection, FileSource, Flows, FlowsCall, Follow, Printed, ResponseStream},
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
    let headline_only = !matches!(args.formatting.output, Output::Json | Output::Jsonpb);
    let (stream, printed) = flows(
        Source {
            input_file: args.other.input_file.as_deref(),
            headline_only,
            follow: args.selectors.follow,
            reconnect: args.selectors.reconnect,
            demo: demo.as_ref(),
        },
        request,
        settings,
    )
    .await?;
    let stdout = io::stdout().lock();
    // `--silent-errors` silences node status events too, as in Hubble.
    let stderr: Box<dyn Write> = if args.other.silent_errors {
        Box::new(io::sink())
    } else {
        Box::new(io::stderr().lock())
    };
    let printer = Printer::new(
        options,
        BufWriter::with_capacity(OUTPUT_BUFFER, stdout),
        stderr,
    );
    print_stream(stream, printer, printed, args.other.silent_errors).await
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
    request: crate::proto::observer::GetFlowsRequest,
    settings: &Arc<Settings>,
) -> anyhow::Result<(ResponseStream, Printed<Flows>)> {
    if source.follow && source.input_file.is_none() && settings.reconnect(source.reconnect)? {
        let call = FlowsCall {
            request,
            headline_only: source.headline_only,
        };
        return follow(call, settings, source.demo).await;
    }
    let stream = open(
        source.input_file,
        source.headline_only,
        request,
        settings,
        source.demo,
    )
    .await?;
    Ok((stream, Printed::release()))
}

/// The flow stream of a request, read once: from a capture, the demo relay
/// or the server.
async fn open(
    input_file: Option<&str>,
    headline_only: bool,
    request: crate::proto::observer::GetFlowsRequest,
    settings: &Settings,
    demo: Option<&Demo>,
) -> anyhow::Result<ResponseStream> {
    if let Some(path) = input_file {
        settings.refuse_port_forward_with("--input-file")?;
        let mut source = FileSource::new(path.to_owned());
        if headline_only {
            source = source.headline_only();
        }
        return source
            .get_flows(&request)
            .with_context(|| format!("cannot read flows from {path}"));
    }
    let connection = connect(settings, demo).await?;
    settings.log_request("Sending GetFlows request", &request);
    connection
        .get_flows(request, headline_only)
        .await
        .map_err(unwrap_unknown)
}

/// The server's flows, followed through lost connections: dialed again
/// as first, and resumed where the output stopped.
async fn follow(
    call: FlowsCall,
    settings: &Arc<Settings>,
    demo: Option<&Demo>,
) -> anyhow::Result<(ResponseStream, Printed<Flows>)> {
    let connection = connect(settings, demo).await?;
    settings.log_request("Sending GetFlows request", &call.request);
    let stream = connection
        .get_flows(call.request.clone(), call.headline_only)
        .await
        .map_err(unwrap_unknown)?;
    let dial = settings.dialer(demo.map(Demo::server));
    let follow = Follow::<Flows>::new(call, &connection, stream, dial, settings.backoff());
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

/// Prints responses as they come, handing each back to `printed`. Output is
/// buffered, and flushed whenever the source has nothing ready, so a slow
/// stream still shows each flow at once while a fast one costs few writes.
async fn print_stream<W: Write, E: Write>(
    mut stream: ResponseStream,
    mut printer: Printer<W, E>,
    printed: Printed<Flows>,
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
                printer.write_response(&response)?;
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
pub(super) async fn poll_once(stream: &mut ResponseStream) -> Option<Option<source::Item>> {
    std::future::poll_fn(|cx| {
        Poll::Ready(match stream.as_mut().poll_next(cx) {
            Poll::Ready(item) => Some(item),
            Poll::Pending => None,
        })
    })
    .await
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
