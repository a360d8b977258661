//! `hubl observe [flows]`.

use std::{
    env,
    io::{self, BufWriter, IsTerminal, Write},
    task::Poll,
};

use anyhow::{Context, bail};
use clap::ValueEnum;
use tokio_stream::StreamExt;

use super::{Outcome, Settings};
use crate::{
    cli::{ColorChoice, FormattingArgs, ObserveArgs, ObserveCommand, Output, TimeFormatName},
    filter,
    printer::{self, Format, PrintOptions, Printer, TimeFormat},
    serve::Demo,
    source::{self, FileSource, ResponseStream},
};

/// Large enough that a busy stream is written in few syscalls.
const OUTPUT_BUFFER: usize = 128 * 1024;

pub async fn run(command: &ObserveCommand, settings: &Settings) -> anyhow::Result<Outcome> {
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
    let options = print_options(&args.formatting, io::stdout().is_terminal());

    // The demo relay serves from this task's runtime for as long as the
    // stream is read.
    let demo = match args.other.demo {
        true => Some(Demo::start().await?),
        false => None,
    };
    let stream = open(args, request, settings, demo.as_ref(), !json_output).await?;
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
    print_stream(stream, printer, args.other.silent_errors).await
}

/// The responses to `request` from the capture, the demo relay or the
/// server the flags name; a capture's flows are read headline only if
/// asked.
pub(super) async fn open(
    args: &ObserveArgs,
    request: crate::proto::observer::GetFlowsRequest,
    settings: &Settings,
    demo: Option<&Demo>,
    headline_only: bool,
) -> anyhow::Result<ResponseStream> {
    if let Some(path) = &args.other.input_file {
        let mut source = FileSource::new(path.clone());
        if headline_only {
            source = source.headline_only();
        }
        return source
            .get_flows(&request)
            .with_context(|| format!("cannot read flows from {path}"));
    }
    let connection = match demo {
        Some(demo) => settings.connect_to(&demo.server()).await?,
        None => settings.connect().await?,
    };
    settings.log_request("Sending GetFlows request", &request);
    Ok(connection.get_flows(request).await?)
}

/// Prints responses as they come. Output is buffered, and flushed whenever
/// the source has nothing ready, so a slow stream still shows each flow at
/// once while a fast one costs few writes.
async fn print_stream<W: Write, E: Write>(
    mut stream: ResponseStream,
    mut printer: Printer<W, E>,
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
                source::recycle(response);
            }
            Some(Err(error)) if error.is_recoverable() => {
                if !silent_errors {
                    printer.flush()?;
                    eprintln!("Warning: {error}");
                }
            }
            Some(Err(error)) => {
                printer.finish()?;
                return Err(error.into());
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
        time_format: time_format(formatting.time_format),
        node_name: formatting.print_node_name,
        policy_names: formatting.print_policy_names,
        color,
        // Numeric output shows addresses, never names.
        ip_translation: formatting.ip_translation && !formatting.numeric,
        debug: false,
    }
}

pub(super) fn time_format(name: TimeFormatName) -> TimeFormat {
    match name {
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
