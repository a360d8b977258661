//! The resolved configuration of one run: the global and server flags
//! merged with `HUBBLE_*` variables and the config file, turned into
//! connection options, and Hubble's `--debug` log.

use std::{env, sync::Arc};

use anyhow::bail;
use serde::Serialize;

use crate::{
    cli::{GlobalArgs, ServerArgs},
    config::{ConfigError, Given, Layers},
    duration,
    source::{
        self, Backoff, ConnectOptions, Connection, PortForwardOptions, SourceError, TlsOptions,
    },
};

/// The configuration every command reads.
pub struct Settings {
    layers: Layers,
    debug: bool,
}

impl Settings {
    /// Merges the flags given with the environment and the config file.
    pub fn load(global: &GlobalArgs, server: &ServerArgs) -> Result<Self, ConfigError> {
        let layers = Layers::load(given_flags(global, server), |name| env::var(name).ok())?;
        // An unreadable value only matters to commands that connect, which
        // check it again; `config` must work whatever the values are.
        let debug = layers.bool("debug").unwrap_or(false);
        let settings = Self { layers, debug };
        if settings.layers.file_found()
            && let Some(path) = settings.layers.file_path()
        {
            settings.log(
                "Using config file",
                "configFile",
                &path.display().to_string(),
            );
        }
        Ok(settings)
    }

    pub fn layers(&self) -> &Layers {
        &self.layers
    }

    /// Whether `-D/--debug` is on.
    pub fn debug(&self) -> bool {
        self.debug
    }

    /// The connection the server flags describe, checked as Hubble checks
    /// them before dialing.
    pub fn connect_options(&self) -> anyhow::Result<ConnectOptions> {
        let layers = &self.layers;
        layers.bool("debug")?;
        let username = layers.string("basic-auth-username")?;
        let password = layers.string("basic-auth-password")?;
        if username.is_empty() != password.is_empty() {
            bail!("invalid flag(s): must specify both basic-auth-username and basic-auth-password");
        }
        let cert_file = layers.string("tls-client-cert-file")?;
        let key_file = layers.string("tls-client-key-file")?;
        if cert_file.is_empty() != key_file.is_empty() {
            bail!(
                "invalid flag(s): certificate and private key are both required, but only one was provided \
                 (set both --tls-client-cert-file and --tls-client-key-file)"
            );
        }
        let server = layers.string("server")?;
        let tls = ConnectOptions::uses_tls(&server, layers.bool("tls")?);
        if !cert_file.is_empty() && !tls {
            bail!(
                "invalid flag(s): transport layer security required \
                 (a client certificate needs --tls or a tls:// server address)"
            );
        }
        let tls = tls
            .then(|| -> anyhow::Result<TlsOptions> {
                let server_name = layers.string("tls-server-name")?;
                Ok(TlsOptions {
                    allow_insecure: layers.bool("tls-allow-insecure")?,
                    ca_cert_files: layers.list("tls-ca-cert-files")?,
                    client_cert: (!cert_file.is_empty()).then_some((cert_file, key_file)),
                    server_name: (!server_name.is_empty()).then_some(server_name),
                })
            })
            .transpose()?;
        Ok(ConnectOptions {
            server,
            timeout: layers.duration("timeout")?,
            request_timeout: layers.duration("request-timeout")?,
            tls,
            basic_auth: (!username.is_empty()).then_some((username, password)),
            port_forward: self.port_forward_options()?,
        })
    }

    /// Whether `-P/--port-forward` is on.
    pub fn port_forward(&self) -> anyhow::Result<bool> {
        Ok(self.layers.bool("port-forward")?)
    }

    /// Refuses `-P` typed together with a source that needs no server
    /// (`--input-file`, `--demo`). Set in the environment or the config
    /// file, it is ignored there, as Hubble ignores `--server`.
    pub fn refuse_port_forward_with(&self, source: &str) -> anyhow::Result<()> {
        if self.layers.is_flag("port-forward") && self.port_forward()? {
            bail!(
                "-P/--port-forward cannot be used with {source}: the flows come from there, not from \
                 a relay; drop one of the two"
            );
        }
        Ok(())
    }

    /// `-P` and the flags that only it reads, or `None` without `-P`.
    fn port_forward_options(&self) -> anyhow::Result<Option<PortForwardOptions>> {
        let layers = &self.layers;
        if !self.port_forward()? {
            return Ok(None);
        }
        let kubeconfig = layers.string("kubeconfig")?;
        let context = layers.string("kube-context")?;
        Ok(Some(PortForwardOptions {
            kubeconfig: (!kubeconfig.is_empty()).then(|| kubeconfig.into()),
            context: (!context.is_empty()).then_some(context),
            namespace: layers.string("kube-namespace")?,
            port: layers.port("port-forward-port")?,
            listen: !layers.is_default("port-forward-port"),
        }))
    }

    /// Dials the server.
    pub async fn connect(&self) -> anyhow::Result<Connection> {
        let options = self.connect_options()?;
        let connection = source::connect(&options).await?;
        if options.port_forward.is_some() {
            self.log(
                "port-forward to hubble-relay pod running",
                "address",
                connection.target(),
            );
        }
        Ok(connection)
    }

    /// Connects to a local plain-text server (the demo relay) with the
    /// configured timeouts, whatever server the flags name.
    pub async fn connect_to(&self, address: &str) -> anyhow::Result<Connection> {
        let mut options = self.connect_options()?;
        options.server = address.to_owned();
        options.tls = None;
        options.basic_auth = None;
        options.port_forward = None;
        Ok(source::connect(&options).await?)
    }

    /// Whether a followed stream that is lost is resumed: `--reconnect`,
    /// else `HUBBLE_RECONNECT` or the config file; true by default.
    pub fn reconnect(&self, flag: Option<bool>) -> anyhow::Result<bool> {
        match flag {
            Some(reconnect) => Ok(reconnect),
            None => Ok(self.layers.bool("reconnect")?),
        }
    }

    /// How a followed stream dials again: as `connect` (or `connect_to`
    /// the demo relay at `address`) did the first time.
    pub fn dialer(self: &Arc<Self>, address: Option<String>) -> source::Dial {
        let settings = Arc::clone(self);
        Box::new(move || {
            let settings = Arc::clone(&settings);
            let address = address.clone();
            Box::pin(async move {
                let connected = match &address {
                    Some(address) => settings.connect_to(address).await,
                    None => settings.connect().await,
                };
                connected.map_err(|error| match error.downcast::<SourceError>() {
                    Ok(error) => error,
                    // Whatever else stops a dial (a port-forward whose pod
                    // is being replaced) is worth another try.
                    Err(other) => SourceError::Connect {
                        address: address.unwrap_or_else(|| {
                            settings.layers.string("server").unwrap_or_default()
                        }),
                        reason: format!("{other:#}"),
                        hint: String::new(),
                    },
                })
            })
        })
    }

    /// The backoff between reconnection attempts. `HUBL_TEST_RECONNECT_BACKOFF`
    /// (`INITIAL,MAX`, e.g. `5ms,20ms`) shortens it, for tests only.
    pub fn backoff(&self) -> Backoff {
        env::var("HUBL_TEST_RECONNECT_BACKOFF")
            .ok()
            .and_then(|text| {
                let (initial, max) = text.split_once(',')?;
                Some(Backoff::new(
                    duration::parse(initial)?,
                    duration::parse(max)?,
                ))
            })
            .unwrap_or_default()
    }

    /// Logs a request about to be sent, under `--debug`. The request is
    /// shown in proto3 JSON.
    pub fn log_request(&self, message: &str, request: &impl Serialize) {
        if self.debug {
            let text = serde_json::to_string(request).unwrap_or_default();
            self.log(message, "req", &text);
        }
    }

    /// One line of Hubble's debug log on stderr.
    pub fn log(&self, message: &str, key: &str, value: &str) {
        if self.debug {
            crate::log::write("DEBUG", message, &[(key, value)]);
        }
    }
}

/// The flags typed on the command line, by configuration key.
fn given_flags(global: &GlobalArgs, server: &ServerArgs) -> Vec<(&'static str, Given)> {
    let mut given = Vec::new();
    let mut text = |name: &'static str, value: &Option<String>| {
        if let Some(value) = value {
            given.push((name, Given::Text(value.clone())));
        }
    };
    text("config", &global.config);
    text("server", &server.server);
    text("tls-client-cert-file", &server.tls_client_cert_file);
    text("tls-client-key-file", &server.tls_client_key_file);
    text("tls-server-name", &server.tls_server_name);
    text("basic-auth-username", &server.basic_auth_username);
    text("basic-auth-password", &server.basic_auth_password);
    text("kube-context", &server.kube_context);
    text("kubeconfig", &server.kubeconfig);
    text("kube-namespace", &server.kube_namespace);
    if let Some(port) = server.port_forward_port {
        given.push(("port-forward-port", Given::Text(port.to_string())));
    }
    let flags = [
        ("debug", global.debug),
        ("tls", server.tls),
        ("tls-allow-insecure", server.tls_allow_insecure),
        ("port-forward", server.port_forward),
    ];
    for (name, value) in flags {
        if let Some(value) = value {
            given.push((name, Given::Bool(value)));
        }
    }
    for (name, value) in [
        ("timeout", server.timeout),
        ("request-timeout", server.request_timeout),
    ] {
        if let Some(value) = value {
            given.push((name, Given::Text(duration::format(value))));
        }
    }
    if let Some(files) = &server.tls_ca_cert_files {
        given.push(("tls-ca-cert-files", Given::List(files.clone())));
    }
    given
}
