//! `hubl list nodes|namespaces`.

use std::io::{self, Write};

use super::{Outcome, Settings};
use crate::{
    cli::ListOutput,
    printer::{ListFormat, write_namespaces, write_nodes},
};

pub async fn nodes(output: ListOutput, settings: &Settings) -> anyhow::Result<Outcome> {
    let connection = settings.connect().await?;
    let mut nodes = connection.get_nodes().await?.nodes;
    let mut stdout = io::stdout().lock();
    write_nodes(&mut stdout, &mut nodes, format(output))?;
    stdout.flush()?;
    Ok(Outcome::Success)
}

pub async fn namespaces(output: ListOutput, settings: &Settings) -> anyhow::Result<Outcome> {
    let connection = settings.connect().await?;
    let namespaces = connection.get_namespaces().await?.namespaces;
    let mut stdout = io::stdout().lock();
    write_namespaces(&mut stdout, &namespaces, format(output))?;
    stdout.flush()?;
    Ok(Outcome::Success)
}

fn format(output: ListOutput) -> ListFormat {
    match output {
        ListOutput::Json => ListFormat::Json,
        ListOutput::Table => ListFormat::Table,
        ListOutput::Wide => ListFormat::Wide,
    }
}
