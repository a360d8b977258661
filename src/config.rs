//! Hubble's configuration: the global and server flags, each of which can
//! also come from a `HUBBLE_<FLAG>` variable or the YAML config file, with
//! the precedence flag > environment > file > default. The file has
//! Hubble's layout (`server: ...`, `tls: true`, ...), so an existing Hubble
//! configuration works as is.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    fs, io,
    path::{Path, PathBuf},
    time::Duration,
};

use serde_yaml_ng::{Mapping, Value};

use crate::duration;

/// The type of a key, as the flag that sets it declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    String,
    StringSlice,
    Duration,
    Port,
}

/// One configuration key: a flag name, also a key of the file.
#[derive(Debug)]
pub struct Key {
    pub name: &'static str,
    pub kind: Kind,
    /// The flag's default, as Hubble's `--help` shows it.
    pub default: &'static str,
}

const fn key(name: &'static str, kind: Kind, default: &'static str) -> Key {
    Key {
        name,
        kind,
        default,
    }
}

/// Every key Hubble binds to its configuration, and hubl's `reconnect`,
/// sorted by name. `config`
/// defaults to the user's config file, computed at run time.
pub const KEYS: &[Key] = &[
    key("basic-auth-password", Kind::String, ""),
    key("basic-auth-username", Kind::String, ""),
    key("config", Kind::String, ""),
    key("debug", Kind::Bool, "false"),
    key("kube-context", Kind::String, ""),
    key("kube-namespace", Kind::String, "kube-system"),
    key("kubeconfig", Kind::String, ""),
    key("port-forward", Kind::Bool, "false"),
    key("port-forward-port", Kind::Port, "4245"),
    // hubl's own: resume a `--follow` when the connection is lost.
    key("reconnect", Kind::Bool, "true"),
    key("request-timeout", Kind::Duration, "12s"),
    key("server", Kind::String, "localhost:4245"),
    key("timeout", Kind::Duration, "5s"),
    key("tls", Kind::Bool, "false"),
    key("tls-allow-insecure", Kind::Bool, "false"),
    key("tls-ca-cert-files", Kind::StringSlice, "[]"),
    key("tls-client-cert-file", Kind::String, ""),
    key("tls-client-key-file", Kind::String, ""),
    key("tls-server-name", Kind::String, ""),
];

/// Looks a key up by name.
pub fn find_key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|key| key.name == name)
}

/// The environment variable for a key: `tls-server-name` is read from
/// `HUBBLE_TLS_SERVER_NAME`.
pub fn env_name(key: &str) -> String {
    format!("HUBBLE_{}", key.to_ascii_uppercase().replace('-', "_"))
}

/// What went wrong with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("config file {path} is not valid YAML: {reason}")]
    Parse { path: PathBuf, reason: String },

    #[error(
        "config file {path} must hold a mapping of keys to values (such as `server: localhost:4245`)"
    )]
    NotAMapping { path: PathBuf },

    #[error("invalid value {value} for {key} (from {origin}): expected {expected}")]
    Invalid {
        key: &'static str,
        value: String,
        origin: String,
        expected: &'static str,
    },

    #[error("unknown key: {0}")]
    UnknownKey(String),

    #[error("cannot assign value={value} for key={key}, expected type={expected}")]
    Assign {
        key: &'static str,
        value: String,
        expected: &'static str,
    },

    #[error("cannot write config file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("config file undefined: set --config or HUBBLE_CONFIG")]
    NoFile,
}

/// Where a value came from, named as the user would set it.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    Flag,
    Env(String),
    File(PathBuf),
    Default,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag => f.write_str("the command line"),
            Origin::Env(name) => write!(f, "{name}"),
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Default => f.write_str("the default"),
        }
    }
}

/// The configuration as its sources give it, before any key is read.
#[derive(Debug, Default)]
pub struct Layers {
    flags: BTreeMap<&'static str, Value>,
    env: BTreeMap<&'static str, (String, String)>,
    file: Mapping,
    file_path: Option<PathBuf>,
    file_found: bool,
    default_file: Option<PathBuf>,
}

/// A value typed on the command line.
#[derive(Debug, Clone)]
pub enum Given {
    Bool(bool),
    Text(String),
    List(Vec<String>),
}

impl Layers {
    /// Gathers the flags given, the `HUBBLE_*` variables that `env` knows,
    /// and the config file (the one `--config` or `HUBBLE_CONFIG` names, or
    /// the user's default). A missing file is no error, as in Hubble.
    pub fn load(
        flags: Vec<(&'static str, Given)>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut layers = Layers {
            default_file: default_config_file(&env),
            ..Layers::default()
        };
        for (name, given) in flags {
            let value = match given {
                Given::Bool(b) => Value::Bool(b),
                Given::Text(text) => Value::String(text),
                Given::List(items) => {
                    Value::Sequence(items.into_iter().map(Value::String).collect())
                }
            };
            layers.flags.insert(name, value);
        }
        for key in KEYS {
            let name = env_name(key.name);
            // Viper ignores variables set to the empty string.
            if let Some(value) = env(&name).filter(|v| !v.is_empty()) {
                layers.env.insert(key.name, (name, value));
            }
        }
        let path = match layers.flags.get("config") {
            Some(Value::String(path)) => Some(PathBuf::from(path)),
            _ => match layers.env.get("config") {
                Some((_, path)) => Some(PathBuf::from(path)),
                None => layers.default_file.clone(),
            },
        };
        if let Some(path) = path.filter(|p| !p.as_os_str().is_empty()) {
            let file = read_file(&path)?;
            layers.file_found = file.is_some();
            layers.file = file.unwrap_or_default();
            layers.file_path = Some(path);
        }
        Ok(layers)
    }

    /// The config file in use, whether or not it exists.
    pub fn file_path(&self) -> Option<&Path> {
        self.file_path.as_deref()
    }

    /// Whether the config file exists and was read.
    pub fn file_found(&self) -> bool {
        self.file_found
    }

    /// The value of `key` as Hubble's viper holds it, and where it came
    /// from: flags and defaults are typed, environment variables are
    /// strings, file values are what the YAML says.
    pub fn raw(&self, key: &'static Key) -> (Value, Origin) {
        if let Some(value) = self.flags.get(key.name) {
            return (value.clone(), Origin::Flag);
        }
        if let Some((name, value)) = self.env.get(key.name) {
            return (Value::String(value.clone()), Origin::Env(name.clone()));
        }
        if key.name != "config"
            && let Some(value) = self.file.get(key.name)
        {
            let path = self.file_path.clone().unwrap_or_default();
            return (value.clone(), Origin::File(path));
        }
        (self.default_value(key), Origin::Default)
    }

    /// A key's default, typed as its flag's.
    pub fn default_value(&self, key: &'static Key) -> Value {
        if key.name == "config" {
            let path = self.default_file.as_deref().unwrap_or(Path::new(""));
            return Value::String(path.display().to_string());
        }
        default_of(key)
    }

    /// Every setting, merged: the known keys and whatever else the file
    /// holds, as `hubble config view` shows them.
    pub fn all_settings(&self) -> Mapping {
        let mut settings = BTreeMap::new();
        for (name, value) in &self.file {
            if let Some(name) = name.as_str() {
                settings.insert(name.to_owned(), value.clone());
            }
        }
        for key in KEYS {
            settings.insert(key.name.to_owned(), self.raw(key).0);
        }
        settings
            .into_iter()
            .map(|(k, v)| (Value::String(k), v))
            .collect()
    }

    /// Reads `key` as a boolean.
    pub fn bool(&self, name: &'static str) -> Result<bool, ConfigError> {
        let (key, value, origin) = self.lookup(name);
        as_bool(&value).ok_or_else(|| invalid(key, &value, origin, "true or false"))
    }

    /// Reads `key` as a string.
    pub fn string(&self, name: &'static str) -> Result<String, ConfigError> {
        let (key, value, origin) = self.lookup(name);
        as_string(&value).ok_or_else(|| invalid(key, &value, origin, "a string"))
    }

    /// Reads `key` as a duration; a bare number is nanoseconds, as in viper.
    pub fn duration(&self, name: &'static str) -> Result<Duration, ConfigError> {
        let (key, value, origin) = self.lookup(name);
        as_duration(&value)
            .ok_or_else(|| invalid(key, &value, origin, "a duration such as 5s or 1m30s"))
    }

    /// Reads `key` as a port number.
    pub fn port(&self, name: &'static str) -> Result<u16, ConfigError> {
        let (key, value, origin) = self.lookup(name);
        as_port(&value).ok_or_else(|| invalid(key, &value, origin, "a port number from 0 to 65535"))
    }

    /// Whether `key` was given on the command line.
    pub fn is_flag(&self, name: &'static str) -> bool {
        matches!(self.lookup(name).2, Origin::Flag)
    }

    /// Whether `key` has its default: set by no flag, variable or file.
    pub fn is_default(&self, name: &'static str) -> bool {
        matches!(self.lookup(name).2, Origin::Default)
    }

    /// Reads `key` as a list of strings.
    pub fn list(&self, name: &'static str) -> Result<Vec<String>, ConfigError> {
        let (key, value, origin) = self.lookup(name);
        as_list(&value).ok_or_else(|| invalid(key, &value, origin, "a list of strings"))
    }

    fn lookup(&self, name: &'static str) -> (&'static Key, Value, Origin) {
        let key = find_key(name).unwrap_or_else(|| unreachable!("{name} is not in KEYS"));
        let (value, origin) = self.raw(key);
        (key, value, origin)
    }
}

fn invalid(
    key: &'static Key,
    value: &Value,
    origin: Origin,
    expected: &'static str,
) -> ConfigError {
    ConfigError::Invalid {
        key: key.name,
        value: to_yaml(value).trim_end().to_owned(),
        origin: origin.to_string(),
        expected,
    }
}

fn default_of(key: &Key) -> Value {
    match key.kind {
        Kind::Bool => Value::Bool(key.default == "true"),
        Kind::StringSlice => Value::Sequence(Vec::new()),
        // Viper returns other flag types as their text.
        Kind::String | Kind::Duration | Kind::Port => Value::String(key.default.to_owned()),
    }
}

/// Go's `strconv.ParseBool`, as viper's cast applies it.
fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => parse_go_bool(s),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::Null => Some(false),
        _ => None,
    }
}

fn as_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

fn as_duration(value: &Value) -> Option<Duration> {
    match value {
        Value::String(s) if s.contains(['n', 's', 'u', 'µ', 'm', 'h']) => duration::parse(s),
        Value::String(s) => s.parse::<u64>().ok().map(Duration::from_nanos),
        Value::Number(n) => n.as_u64().map(Duration::from_nanos),
        Value::Null => Some(Duration::ZERO),
        _ => None,
    }
}

fn as_port(value: &Value) -> Option<u16> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_list(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Sequence(items) => items.iter().map(as_string).collect(),
        Value::String(s) => Some(s.split_whitespace().map(str::to_owned).collect()),
        Value::Null => Some(Vec::new()),
        _ => None,
    }
}

/// `os.UserConfigDir()/hubble/config.yaml`, or `~/.hubble/config.yaml`
/// where there is no user config dir, as Hubble locates it.
fn default_config_file(env: &impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let non_empty = |name: &str| env(name).filter(|v| !v.is_empty());
    let home = non_empty(if cfg!(windows) { "USERPROFILE" } else { "HOME" }).map(PathBuf::from);
    let config_dir = if cfg!(windows) {
        non_empty("AppData").map(PathBuf::from)
    } else if cfg!(target_os = "macos") {
        home.as_ref()
            .map(|home| home.join("Library/Application Support"))
    } else {
        match non_empty("XDG_CONFIG_HOME").map(PathBuf::from) {
            Some(dir) if dir.is_absolute() => Some(dir),
            Some(_) => None,
            None => home.as_ref().map(|home| home.join(".config")),
        }
    };
    match config_dir {
        Some(dir) => Some(dir.join("hubble").join("config.yaml")),
        None => home.map(|home| home.join(".hubble").join("config.yaml")),
    }
}

/// Reads a config file; `None` when it does not exist.
fn read_file(path: &Path) -> Result<Option<Mapping>, ConfigError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let value: Value = serde_yaml_ng::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    match value {
        Value::Null => Ok(Some(Mapping::new())),
        // Viper treats keys without regard to case.
        Value::Mapping(mapping) => Ok(Some(
            mapping
                .into_iter()
                .map(|(k, v)| match k {
                    Value::String(s) => (Value::String(s.to_lowercase()), v),
                    other => (other, v),
                })
                .collect(),
        )),
        _ => Err(ConfigError::NotAMapping {
            path: path.to_owned(),
        }),
    }
}

/// `hubble config set KEY VALUE`: converts VALUE as the key's flag would
/// (an empty VALUE means the default) and writes it to the config file,
/// leaving the file's other keys as they are.
pub fn set(layers: &Layers, name: &str, text: &str) -> Result<(), ConfigError> {
    let key = find_key(name).ok_or_else(|| ConfigError::UnknownKey(name.to_owned()))?;
    let value = parse_for_key(layers, key, text)?;
    let path = layers.file_path().ok_or(ConfigError::NoFile)?;
    let mut file = read_file(path)?.unwrap_or_default();
    file.insert(Value::String(key.name.to_owned()), value);
    write_file(path, &file)
}

/// `hubble config reset`: every key back to its default, in the file.
pub fn reset_all(layers: &Layers) -> Result<(), ConfigError> {
    let path = layers.file_path().ok_or(ConfigError::NoFile)?;
    let mut file = read_file(path)?.unwrap_or_default();
    for key in KEYS {
        file.insert(
            Value::String(key.name.to_owned()),
            file_default(layers, key),
        );
    }
    write_file(path, &file)
}

/// A default as `config reset` writes it: typed, durations as text.
fn file_default(layers: &Layers, key: &'static Key) -> Value {
    match key.kind {
        Kind::Port => Value::Number(key.default.parse::<u16>().unwrap_or_default().into()),
        _ => layers.default_value(key),
    }
}

fn parse_for_key(layers: &Layers, key: &'static Key, text: &str) -> Result<Value, ConfigError> {
    if text.is_empty() {
        return Ok(file_default(layers, key));
    }
    let failed = |expected: &'static str| ConfigError::Assign {
        key: key.name,
        value: text.to_owned(),
        expected,
    };
    match key.kind {
        Kind::Bool => parse_go_bool(text)
            .map(Value::Bool)
            .ok_or_else(|| failed("bool")),
        Kind::String => Ok(Value::String(text.to_owned())),
        Kind::Duration => as_duration(&Value::String(text.to_owned()))
            .map(|d| Value::String(duration::format(d)))
            .ok_or_else(|| failed("duration")),
        Kind::Port => text
            .parse::<u16>()
            .map(|port| Value::Number(port.into()))
            .map_err(|_| failed("uint16")),
        Kind::StringSlice => {
            let inner = text.strip_prefix('[').unwrap_or(text);
            let inner = inner.strip_suffix(']').unwrap_or(inner);
            if inner.is_empty() {
                return Ok(Value::Sequence(Vec::new()));
            }
            let items = split_csv(inner).ok_or_else(|| failed("stringSlice"))?;
            Ok(Value::Sequence(
                items.into_iter().map(Value::String).collect(),
            ))
        }
    }
}

/// One record of CSV, as Go's `encoding/csv` reads a flag value: commas
/// separate fields, a field may be double-quoted with `""` for a quote.
fn split_csv(text: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Some(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => return None,
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Some(fields);
                    }
                    Some(',') => break,
                    Some('"') => return None,
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

fn write_file(path: &Path, file: &Mapping) -> Result<(), ConfigError> {
    let failed = |source| ConfigError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(failed)?;
    }
    fs::write(path, to_yaml(&Value::Mapping(file.clone()))).map_err(failed)
}

/// YAML as Go's yaml.v3 writes it: keys sorted, four-space indentation,
/// strings quoted only where they would read back as something else.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Mapping(m) if m.is_empty() => out.push_str("{}\n"),
        Value::Sequence(s) if s.is_empty() => out.push_str("[]\n"),
        Value::Mapping(_) | Value::Sequence(_) => write_block(&mut out, value, 0),
        scalar => {
            write_scalar(&mut out, scalar);
            out.push('\n');
        }
    }
    out
}

fn write_block(out: &mut String, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match value {
        Value::Mapping(mapping) => {
            let mut entries: Vec<(String, &Value)> =
                mapping.iter().map(|(k, v)| (scalar_text(k), v)).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, value) in entries {
                out.push_str(&pad);
                write_string(out, &name);
                out.push(':');
                write_nested(out, value, indent + 4);
            }
        }
        Value::Sequence(items) => {
            for item in items {
                out.push_str(&pad);
                out.push('-');
                write_nested(out, item, indent + 4);
            }
        }
        scalar => {
            out.push_str(&pad);
            write_scalar(out, scalar);
            out.push('\n');
        }
    }
}

fn write_nested(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Mapping(m) if m.is_empty() => out.push_str(" {}\n"),
        Value::Sequence(s) if s.is_empty() => out.push_str(" []\n"),
        Value::Mapping(_) | Value::Sequence(_) => {
            out.push('\n');
            write_block(out, value, indent);
        }
        scalar => {
            out.push(' ');
            write_scalar(out, scalar);
            out.push('\n');
        }
    }
}

fn scalar_text(value: &Value) -> String {
    let mut text = String::new();
    write_scalar(&mut text, value);
    text
}

fn write_scalar(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_string(out, s),
        Value::Tagged(tagged) => write_scalar(out, &tagged.value),
        Value::Mapping(_) | Value::Sequence(_) => out.push_str(to_yaml(value).trim_end()),
    }
}

/// A plain scalar when it reads back as the same string, else a
/// double-quoted one, as yaml.v3 decides.
fn write_string(out: &mut String, text: &str) {
    if needs_quotes(text) {
        out.push('"');
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => {
                    let _ = write!(out, "\\x{:02X}", c as u32);
                }
                c => out.push(c),
            }
        }
        out.push('"');
    } else {
        out.push_str(text);
    }
}

fn needs_quotes(text: &str) -> bool {
    if text.is_empty() || text.trim() != text {
        return true;
    }
    // Plain scalars that YAML (1.1 or 1.2) would read as another type.
    let resolves_elsewhere = matches!(
        text,
        "~" | "null"
            | "Null"
            | "NULL"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "y"
            | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
            | ".inf"
            | ".Inf"
            | ".INF"
            | "-.inf"
            | "-.Inf"
            | "-.INF"
            | ".nan"
            | ".NaN"
            | ".NAN"
    ) || looks_numeric(text);
    let first = text.chars().next().unwrap_or(' ');
    let indicator = "-?:,[]{}#&*!|>'\"%@`".contains(first)
        && !(matches!(first, '-' | '?' | ':') && text.len() > 1 && !text[1..].starts_with(' '));
    resolves_elsewhere
        || indicator
        || text.contains(": ")
        || text.contains(" #")
        || text.ends_with(':')
        || text.chars().any(|c| c.is_control())
}

fn looks_numeric(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() {
        return false;
    }
    if let Some(hex) = digits.strip_prefix("0x") {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit() || c == '_');
    }
    if let Some(octal) = digits.strip_prefix("0o") {
        return !octal.is_empty() && octal.chars().all(|c| c.is_digit(8));
    }
    digits.replace('_', "").parse::<f64>().is_ok()
        && digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn yaml_is_written_as_yaml_v3_does() {
        let value: Value = serde_yaml_ng::from_str(
            "b: [x, \"y\", \"\"]\na: 5s\nc: {}\nd: \"4245\"\ne: true\nf: []\ng: 'a: b'\n",
        )
        .unwrap();
        assert_eq!(
            to_yaml(&value),
            "a: 5s\nb:\n    - x\n    - \"y\"\n    - \"\"\nc: {}\nd: \"4245\"\ne: true\nf: []\ng: \"a: b\"\n"
        );
        assert_eq!(
            to_yaml(&Value::String("localhost:4245".into())),
            "localhost:4245\n"
        );
        assert_eq!(to_yaml(&Value::String("tls://h:1".into())), "tls://h:1\n");
        assert_eq!(to_yaml(&Value::Sequence(vec![])), "[]\n");
    }

    #[test]
    fn default_file_follows_the_user_config_dir() {
        if cfg!(any(windows, target_os = "macos")) {
            return;
        }
        let with_xdg = env_of(&[("HOME", "/home/u"), ("XDG_CONFIG_HOME", "/x")]);
        assert_eq!(
            default_config_file(&with_xdg),
            Some(PathBuf::from("/x/hubble/config.yaml"))
        );
        let home_only = env_of(&[("HOME", "/home/u")]);
        assert_eq!(
            default_config_file(&home_only),
            Some(PathBuf::from("/home/u/.config/hubble/config.yaml"))
        );
        let relative_xdg = env_of(&[("HOME", "/home/u"), ("XDG_CONFIG_HOME", "rel")]);
        assert_eq!(
            default_config_file(&relative_xdg),
            Some(PathBuf::from("/home/u/.hubble/config.yaml"))
        );
    }

    #[test]
    fn values_are_read_as_viper_casts_them() {
        let layers = Layers::load(
            vec![("tls", Given::Bool(true))],
            env_of(&[
                ("HUBBLE_CONFIG", "/nonexistent/config.yaml"),
                ("HUBBLE_TIMEOUT", "1500"),
                ("HUBBLE_TLS", "false"),
                ("HUBBLE_TLS_CA_CERT_FILES", "a.pem b.pem"),
                ("HUBBLE_DEBUG", "yes"),
                ("HUBBLE_SERVER", ""),
            ]),
        )
        .unwrap();
        assert!(
            layers.bool("tls").unwrap(),
            "the flag wins over the variable"
        );
        assert_eq!(
            layers.duration("timeout").unwrap(),
            Duration::from_nanos(1500)
        );
        assert_eq!(
            layers.list("tls-ca-cert-files").unwrap(),
            ["a.pem", "b.pem"]
        );
        assert_eq!(layers.string("server").unwrap(), "localhost:4245");
        let error = layers.bool("debug").unwrap_err().to_string();
        assert_eq!(
            error,
            "invalid value \"yes\" for debug (from HUBBLE_DEBUG): expected true or false"
        );
    }

    #[test]
    fn csv_values_split_as_go() {
        assert_eq!(split_csv("a,b").unwrap(), ["a", "b"]);
        assert_eq!(split_csv("\"a,b\",c").unwrap(), ["a,b", "c"]);
        assert_eq!(split_csv("\"a\"\"b\"").unwrap(), ["a\"b"]);
        assert!(split_csv("a\"b").is_none());
    }
}
