//! `hubl completion SHELL`: the completion script, on stdout.

use std::io::{self, Write};

use clap_complete::{Shell as Target, generate};

use super::Outcome;
use crate::cli::Shell;

pub fn run(shell: Shell) -> anyhow::Result<Outcome> {
    let target = match shell {
        Shell::Bash => Target::Bash,
        Shell::Fish => Target::Fish,
        Shell::Powershell => Target::PowerShell,
        Shell::Zsh => Target::Zsh,
    };
    // clap_complete panics when its writer fails; written to memory first,
    // a closed stdout (`| head`) is an ordinary write error.
    let mut script = Vec::new();
    generate(target, &mut crate::cli::command(), "hubl", &mut script);
    let mut stdout = io::stdout().lock();
    stdout.write_all(&script)?;
    stdout.flush()?;
    Ok(Outcome::Success)
}
