//! `--cel-expression` for input without a server, as Hubble's server
//! evaluates it: each expression sees the flow as `_flow` (a `flow.Flow`
//! with proto field names, enums as numbers, unset scalars as their zero
//! value) and the enums of the `flow` package by name (`Verdict.DROPPED`);
//! the flow passes when any expression yields `true`.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock},
};

use cel::{
    Context, Program,
    objects::{Key, Map, Value},
};
use prost::Message;
use prost_types::{
    DescriptorProto, FileDescriptorSet,
    field_descriptor_proto::{Label, Type},
};

use super::{FilterError, cel_check};
use crate::proto::flow::Flow;

/// The API's descriptors, as build.rs compiled them.
const DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hubble_descriptor.bin"));

/// Messages and enums of the API by full name (`.flow.Flow`).
pub(super) struct Schema {
    pub(super) messages: HashMap<String, DescriptorProto>,
    /// Enum values by enum full name, then value name.
    pub(super) enums: HashMap<String, HashMap<String, i32>>,
    /// `Verdict`, `TrafficDirection`, ... of the `flow` package, for
    /// expressions that name enum values.
    constants: Vec<(String, Value)>,
}

pub(super) static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    let set = FileDescriptorSet::decode(DESCRIPTORS).unwrap_or_default();
    let mut messages = HashMap::new();
    let mut enums = HashMap::new();
    let mut constants = Vec::new();
    for file in &set.file {
        let package = format!(".{}", file.package());
        for message in &file.message_type {
            collect_message(&package, message, &mut messages, &mut enums);
        }
        for enumeration in &file.enum_type {
            let values: HashMap<String, i32> = enumeration
                .value
                .iter()
                .map(|v| (v.name().to_owned(), v.number()))
                .collect();
            if file.package() == "flow" {
                let map: HashMap<Key, Value> = values
                    .iter()
                    .map(|(name, number)| {
                        (
                            Key::String(Arc::new(name.clone())),
                            Value::Int(i64::from(*number)),
                        )
                    })
                    .collect();
                constants.push((
                    enumeration.name().to_owned(),
                    Value::Map(Map { map: Arc::new(map) }),
                ));
            }
            enums.insert(format!("{package}.{}", enumeration.name()), values);
        }
    }
    // The package too, for `flow.Verdict.DROPPED`.
    let package: HashMap<Key, Value> = constants
        .iter()
        .map(|(name, value)| (Key::String(Arc::new(name.clone())), value.clone()))
        .collect();
    constants.push((
        "flow".to_owned(),
        Value::Map(Map {
            map: Arc::new(package),
        }),
    ));
    Schema {
        messages,
        enums,
        constants,
    }
});

fn collect_message(
    scope: &str,
    message: &DescriptorProto,
    messages: &mut HashMap<String, DescriptorProto>,
    enums: &mut HashMap<String, HashMap<String, i32>>,
) {
    let name = format!("{scope}.{}", message.name());
    for nested in &message.nested_type {
        collect_message(&name, nested, messages, enums);
    }
    for enumeration in &message.enum_type {
        let values = enumeration
            .value
            .iter()
            .map(|v| (v.name().to_owned(), v.number()))
            .collect();
        enums.insert(format!("{name}.{}", enumeration.name()), values);
    }
    messages.insert(name, message.clone());
}

/// Compiled CEL expressions of one FlowFilter.
pub struct CelFilter {
    programs: Vec<Program>,
}

impl CelFilter {
    /// Compiles and checks each expression as Hubble does; the first that
    /// fails is the error.
    pub fn new(expressions: &[String]) -> Result<Self, FilterError> {
        let programs = expressions
            .iter()
            .map(|expression| compile(expression))
            .collect::<Result<_, _>>()?;
        Ok(Self { programs })
    }

    /// Whether any expression is `true` for `flow`; errors and non-boolean
    /// results count as `false`, as in Hubble.
    pub fn matches(&self, flow: &Flow) -> bool {
        let mut context = Context::default();
        context.add_variable_from_value("_flow", flow_value(flow));
        for (name, value) in &SCHEMA.constants {
            context.add_variable_from_value(name.clone(), value.clone());
        }
        self.programs
            .iter()
            .any(|program| matches!(program.execute(&context), Ok(Value::Bool(true))))
    }
}

/// Parses and type-checks `expression`, with cel-go's messages on failure.
fn compile(expression: &str) -> Result<Program, FilterError> {
    let program = Program::compile(expression).map_err(|errors| {
        let report: Vec<String> = errors
            .errors
            .iter()
            .map(|error| {
                let (line, column) = error.pos;
                cel_check::format_issue(
                    expression,
                    usize::try_from(line).unwrap_or(1),
                    usize::try_from(column).unwrap_or(1),
                    &error.msg,
                )
            })
            .collect();
        FilterError::Cel(report.join("\n"))
    })?;
    cel_check::check(program.expression(), program.source_info(), expression)
        .map_err(FilterError::Cel)?;
    Ok(program)
}

/// Checks `expression` as Hubble compiles it, before it is sent to a server.
pub fn validate(expression: &str) -> Result<(), FilterError> {
    compile(expression).map(|_| ())
}

/// The flow as CEL sees a `flow.Flow` message.
fn flow_value(flow: &Flow) -> Value {
    let json = serde_json::to_value(flow).unwrap_or(serde_json::Value::Null);
    message_value(&json, ".flow.Flow")
}

fn message_value(json: &serde_json::Value, type_name: &str) -> Value {
    let Some(message) = SCHEMA.messages.get(type_name) else {
        return json_value(json);
    };
    let object = json.as_object();
    let mut map = HashMap::new();
    for field in &message.field {
        let name = field.name();
        let present = object.and_then(|o| o.get(name).or_else(|| o.get(field.json_name())));
        let repeated = field.label() == Label::Repeated;
        let value = match present {
            Some(serde_json::Value::Array(items)) if repeated => Value::List(Arc::new(
                items.iter().map(|item| field_value(item, field)).collect(),
            )),
            Some(value) => field_value(value, field),
            // Unset: scalars read as their zero value, messages stay absent
            // so that has() is false.
            None if repeated => Value::List(Arc::new(Vec::new())),
            None => match zero_value(field) {
                Some(zero) => zero,
                None => continue,
            },
        };
        map.insert(Key::String(Arc::new(name.to_owned())), value);
    }
    Value::Map(Map { map: Arc::new(map) })
}

fn field_value(json: &serde_json::Value, field: &prost_types::FieldDescriptorProto) -> Value {
    match field.r#type() {
        Type::Enum => {
            let number = match json {
                serde_json::Value::String(name) => SCHEMA
                    .enums
                    .get(field.type_name())
                    .and_then(|values| values.get(name))
                    .copied()
                    .unwrap_or(0),
                other => other.as_i64().unwrap_or(0) as i32,
            };
            Value::Int(i64::from(number))
        }
        Type::Int64
        | Type::Sint64
        | Type::Sfixed64
        | Type::Int32
        | Type::Sint32
        | Type::Sfixed32 => Value::Int(number(json).and_then(|n| n.parse().ok()).unwrap_or(0)),
        Type::Uint64 | Type::Fixed64 | Type::Uint32 | Type::Fixed32 => {
            Value::UInt(number(json).and_then(|n| n.parse().ok()).unwrap_or(0))
        }
        Type::Message if field.type_name() == ".google.protobuf.Timestamp" => json
            .as_str()
            .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
            .map_or(Value::Null, Value::Timestamp),
        Type::Message if !field.type_name().starts_with(".google.protobuf.") => {
            message_value(json, field.type_name())
        }
        _ => json_value(json),
    }
}

/// A JSON number or a number written as a string (64-bit fields).
fn number(json: &serde_json::Value) -> Option<String> {
    match json {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn zero_value(field: &prost_types::FieldDescriptorProto) -> Option<Value> {
    Some(match field.r#type() {
        Type::Enum
        | Type::Int64
        | Type::Sint64
        | Type::Sfixed64
        | Type::Int32
        | Type::Sint32
        | Type::Sfixed32 => Value::Int(0),
        Type::Uint64 | Type::Fixed64 | Type::Uint32 | Type::Fixed32 => Value::UInt(0),
        Type::Double | Type::Float => Value::Float(0.0),
        Type::Bool => Value::Bool(false),
        Type::String => Value::String(Arc::new(String::new())),
        Type::Bytes => Value::Bytes(Arc::new(Vec::new())),
        Type::Message | Type::Group => return None,
    })
}

/// Plain JSON (well-known types) as CEL values.
fn json_value(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .or_else(|| n.as_u64().map(Value::UInt))
            .unwrap_or_else(|| Value::Float(n.as_f64().unwrap_or(0.0))),
        serde_json::Value::String(s) => Value::String(Arc::new(s.clone())),
        serde_json::Value::Array(items) => {
            Value::List(Arc::new(items.iter().map(json_value).collect()))
        }
        serde_json::Value::Object(object) => Value::Map(Map {
            map: Arc::new(
                object
                    .iter()
                    .map(|(k, v)| (Key::String(Arc::new(k.clone())), json_value(v)))
                    .collect(),
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(json: &str) -> Flow {
        serde_json::from_str(json).unwrap()
    }

    fn matches(expression: &str, flow_json: &str) -> bool {
        CelFilter::new(&[expression.to_owned()])
            .unwrap()
            .matches(&flow(flow_json))
    }

    const DROP: &str = r#"{"verdict":"DROPPED","source":{"namespace":"cilium-test","identity":5},
        "l4":{"TCP":{"destination_port":8080}},"socket_cookie":"12345"}"#;

    #[test]
    fn fields_by_proto_name_and_enums_by_name() {
        assert!(matches("_flow.verdict == Verdict.DROPPED", DROP));
        assert!(!matches("_flow.verdict == Verdict.FORWARDED", DROP));
        assert!(matches("_flow.source.namespace == 'cilium-test'", DROP));
        assert!(matches("_flow.l4.TCP.destination_port == 8080u", DROP));
        assert!(matches("_flow.socket_cookie == 12345u", DROP));
        assert!(matches(
            "_flow.source.identity > 4u && _flow.node_name == ''",
            DROP
        ));
    }

    #[test]
    fn unset_messages_are_absent_and_errors_are_false() {
        assert!(matches("!has(_flow.l7)", DROP));
        assert!(!matches("_flow.l7.http.code == 200u", DROP));
    }

    #[test]
    fn syntax_errors_are_refused() {
        assert!(CelFilter::new(&["_flow.verdict ==".to_owned()]).is_err());
    }

    #[test]
    fn times_and_regular_expressions() {
        let flow = r#"{"time":"2023-01-02T03:04:05.5Z","source":{"namespace":"cilium-test"}}"#;
        assert!(matches(
            "_flow.time > timestamp('2023-01-02T00:00:00Z')",
            flow
        ));
        assert!(!matches(
            "_flow.time < timestamp('2023-01-02T00:00:00Z')",
            flow
        ));
        assert!(matches("_flow.time.getHours() == 3", flow));
        assert!(matches("_flow.source.namespace.matches('^cilium-')", flow));
    }

    #[test]
    fn enum_values_by_their_package_name() {
        assert!(matches("flow.Verdict.DROPPED == _flow.verdict", DROP));
        assert!(!matches("_flow.verdict == flow.Verdict.FORWARDED", DROP));
    }
}
