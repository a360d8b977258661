//! `hubl status`: is the server healthy, and how full is its buffer.

use std::io::{self, Write};

use anyhow::{Context, bail};
use tonic_health::pb::health_check_response::ServingStatus;

use super::{Outcome, Settings};
use crate::{
    cli::{StatusCommand, StatusOutput},
    printer::{StatusFormat, write_server_status},
    serve::Demo,
};

pub async fn run(command: &StatusCommand, settings: &Settings) -> anyhow::Result<Outcome> {
    let output = command.output;
    // The demo relay lives until the status is printed.
    let demo = match command.demo {
        true => Some(Demo::start().await?),
        false => None,
    };
    let connection = match &demo {
        Some(demo) => {
            settings.refuse_port_forward_with("--demo")?;
            settings.connect_to(&demo.server()).await?
        }
        None => settings.connect().await?,
    };
    let health = connection
        .health_check()
        .await
        .context("failed getting status")?;
    let mut stdout = io::stdout().lock();
    let healthy = health == ServingStatus::Serving as i32;
    if output == StatusOutput::Compact {
        let verdict = if healthy {
            "Ok".to_owned()
        } else {
            let name = ServingStatus::try_from(health)
                .map_or_else(|_| health.to_string(), |s| s.as_str_name().to_owned());
            format!("Unavailable: {name}")
        };
        writeln!(
            stdout,
            "Healthcheck (via {}): {verdict}",
            connection.target()
        )?;
    }
    if !healthy {
        stdout.flush()?;
        bail!("not healthy");
    }
    let status = connection
        .server_status()
        .await
        .context("failed to get hubble server status")?;
    let format = match output {
        StatusOutput::Compact => StatusFormat::Compact,
        StatusOutput::Dict => StatusFormat::Dict,
        StatusOutput::Json => StatusFormat::Json,
        StatusOutput::Table => StatusFormat::Table,
    };
    write_server_status(&mut stdout, &status, format)?;
    stdout.flush()?;
    Ok(Outcome::Success)
}
