//! `hubl config view|get|set|reset`: the merged configuration, and edits
//! to the config file.

use std::io::{self, Write};

use anyhow::bail;
use serde_yaml_ng::Value;

use super::{Outcome, Settings};
use crate::{
    cli::ConfigAction,
    config::{self, ConfigError, Kind, Layers, find_key, to_yaml},
    duration,
};

pub fn run(action: &ConfigAction, settings: &Settings) -> anyhow::Result<Outcome> {
    let layers = settings.layers();
    match action {
        ConfigAction::View | ConfigAction::Get { key: None } => {
            print(&to_yaml(&Value::Mapping(layers.all_settings())))?;
        }
        ConfigAction::Get { key: Some(name) } => print(&to_yaml(&get(layers, name)?))?,
        ConfigAction::Set { key, value } => {
            config::set(layers, key, value.as_deref().unwrap_or(""))?;
        }
        ConfigAction::Reset { key: Some(key) } => config::set(layers, key, "")?,
        ConfigAction::Reset { key: None } => config::reset_all(layers)?,
    }
    Ok(Outcome::Success)
}

/// One key's value, typed as `hubble config get` prints it.
fn get(layers: &Layers, name: &str) -> anyhow::Result<Value> {
    let Some(key) = find_key(name) else {
        if layers.all_settings().contains_key(name) {
            bail!("key={name} not bound to a flag");
        }
        return Err(ConfigError::UnknownKey(name.to_owned()).into());
    };
    Ok(match key.kind {
        Kind::Bool => Value::Bool(layers.bool(key.name)?),
        Kind::String => Value::String(layers.string(key.name)?),
        Kind::Duration => Value::String(duration::format(layers.duration(key.name)?)),
        Kind::StringSlice => Value::Sequence(
            layers
                .list(key.name)?
                .into_iter()
                .map(Value::String)
                .collect(),
        ),
        Kind::Port => layers.raw(key).0,
    })
}

fn print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}
