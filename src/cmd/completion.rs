//! `hubl completion SHELL`: the completion script, on stdout.

use std::io;

use clap::CommandFactory;
use clap_complete::{Shell as Target, generate};

use super::Outcome;
use crate::cli::{Cli, Shell};

pub fn run(shell: Shell) -> anyhow::Result<Outcome> {
    let target = match shell {
        Shell::Bash => Target::Bash,
        Shell::Fish => Target::Fish,
        Shell::Powershell => Target::PowerShell,
        Shell::Zsh => Target::Zsh,
    };
    generate(
        target,
        &mut Cli::command(),
        "hubl",
        &mut io::stdout().lock(),
    );
    Ok(Outcome::Success)
}
