//! `hubl config view|get|set|reset`.

use clap::{Args, Subcommand};

const CONFIG_LONG_ABOUT: &str =
    "Config allows to modify or view the hubble configuration. Global hubble options
can be set via flags, environment variables or a configuration file. The
following precedence order is used:

1. Flag
2. Environment variable
3. Configuration file
4. Default value

The \"config view\" subcommand provides a merged view of the configuration. The
\"config set\" and \"config reset\" subcommand modify values in the configuration
file.

Environment variable names start with HUBBLE_ followed by the flag name
capitalized where eventual dashes ('-') are replaced by underscores ('_').
For example, the environment variable that corresponds to the \"--server\" flag
is HUBBLE_SERVER. The environment variable for \"--tls-allow-insecure\" is
HUBBLE_TLS_ALLOW_INSECURE and so on.";

/// `hubl config`.
#[derive(Debug, Args)]
#[command(long_about = CONFIG_LONG_ABOUT)]
pub struct ConfigCommand {
    #[command(subcommand)]
    pub action: ConfigAction,
}

/// The `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Get an individual value in the hubble config file
    #[command(
        long_about = "Get an individual value in the hubble config file.\nIf KEY is not provided, this command is equivalent to 'view'."
    )]
    Get { key: Option<String> },
    /// Reset all or an individual value in the hubble config file
    #[command(
        long_about = "Reset all or an individual value in the hubble config file.\nWhen KEY is provided, this command is equivalent to 'set KEY'.\nIf KEY is not provided, all values are reset to their default value."
    )]
    Reset { key: Option<String> },
    /// Set an individual value in the hubble config file
    #[command(
        long_about = "Set an individual value in the hubble config file.\nIf VALUE is not provided, the value is reset to its default value."
    )]
    Set { key: String, value: Option<String> },
    /// Display merged configuration settings
    View,
}
