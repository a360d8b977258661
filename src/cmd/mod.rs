//! One file per subcommand: thin glue from parsed flags to sources and
//! printers. Errors become one line on stderr and an exit status here.

mod aggregate;
mod completion;
mod config;
mod events;
mod list;
mod map;
mod metrics;
mod observe;
mod serve;
mod settings;
mod status;
mod top;
mod version;
mod watch;

pub use settings::Settings;

use std::{io, process::ExitCode};

use clap::FromArgMatches;

use crate::{
    cli::{Cli, Command, ListTarget, ObserveEvents, WatchTarget},
    source::SourceError,
};

/// Exit status for an interrupted command, as a shell reports SIGINT.
const EXIT_INTERRUPTED: u8 = 130;

/// Polls the Ctrl-C future once so that its handler is installed now:
/// tokio installs it on first poll, and until then Ctrl-C would end the
/// process without flushing what was received. True if it already fired
/// (the future must then not be polled again).
async fn listen_for_interrupt<F: Future>(mut interrupt: std::pin::Pin<&mut F>) -> bool {
    std::future::poll_fn(|cx| std::task::Poll::Ready(interrupt.as_mut().poll(cx).is_ready())).await
}

/// What a finished command asks the process to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done; exit 0.
    Success,
    /// Stopped by Ctrl-C after flushing; exit 130.
    Interrupted,
}

/// Parses the command line, runs the command and maps the result to an exit
/// status: 0 on success or a closed output pipe, 1 on error, 130 on Ctrl-C.
pub fn main() -> ExitCode {
    // A thread of our own has a known stack, whatever `ulimit -s` says: a
    // `--cel-expression` is evaluated by recursion, one frame per level.
    // The command line is parsed there too: clap's command tree takes
    // about 700 KB while it parses, and the allocator keeps freed memory
    // for the thread that freed it, so the command reuses it instead of
    // adding its own (peak RSS of an `--aggregate-by` run: 0.7 MiB less).
    let command = std::thread::Builder::new()
        .name("hubl".to_owned())
        .stack_size(crate::filter::cel::EVALUATION_STACK)
        .spawn(|| execute(parse()));
    match command.map(std::thread::JoinHandle::join) {
        Ok(Ok(code)) => code,
        // The panic hook has printed the panic.
        Ok(Err(_)) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("failed to start a thread for the command: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The command line as flags, with the order filter flags were given in.
fn parse() -> Cli {
    let matches = crate::cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    match (&mut cli.command, matches.subcommand()) {
        (Command::Observe(observe), Some(("observe", observe_matches))) => {
            observe.record_filter_order(observe_matches);
        }
        (Command::Metrics(command), Some(("metrics", metrics_matches))) => {
            command.record_filter_order(metrics_matches);
        }
        _ => {}
    }
    if let (Command::Top(top), Some(("top", top_matches))) =
        (&mut cli.command, matches.subcommand())
    {
        top.args.filter_order = crate::cli::filter_flags_in_order(top_matches);
    }
    if let (Command::Map(map), Some(("map", map_matches))) =
        (&mut cli.command, matches.subcommand())
    {
        map.filter_order = crate::cli::filter_flags_in_order(map_matches);
    }
    cli
}

fn execute(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("failed to start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Interrupted) => ExitCode::from(EXIT_INTERRUPTED),
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            // Hubble prints the bare message (its main.go), and so do we.
            eprintln!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    // Shared with the streams that dial again when following.
    let settings = std::sync::Arc::new(Settings::load(&cli.global, &cli.server)?);
    match cli.command {
        Command::Completion(command) => completion::run(command.shell),
        Command::Config(command) => config::run(&command.action, &settings),
        Command::List(command) => match &command.target {
            ListTarget::Nodes(_) => list::nodes(command.target.output(), &settings).await,
            ListTarget::Namespaces(_) => list::namespaces(command.target.output(), &settings).await,
        },
        Command::Map(command) => map::run(&command, &settings).await,
        Command::Metrics(command) => metrics::run(&command, &settings).await,
        Command::Observe(observe) => match &observe.events {
            Some(ObserveEvents::AgentEvents(args)) => events::agent(args, &settings).await,
            Some(ObserveEvents::DebugEvents(args)) => events::debug(args, &settings).await,
            _ if !observe.flow_args().aggregate.aggregate_by.is_empty() => {
                aggregate::run(observe.flow_args(), &settings).await
            }
            _ => observe::run(&observe, &settings).await,
        },
        Command::Serve(command) => serve::run(&command).await,
        Command::Status(command) => status::run(&command, &settings).await,
        Command::Top(command) => top::run(&command, &settings).await,
        Command::Version => version::run(),
        Command::Watch(command) => match command.target {
            WatchTarget::Peers => watch::peers(&settings).await,
        },
    }
}

/// `hubl observe | head -1` closes our stdout early: that is the reader's
/// choice, not an error. A broken pipe to the server is one, and must not
/// pass for a success.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    if error.chain().any(|cause| cause.is::<SourceError>()) {
        return false;
    }
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
