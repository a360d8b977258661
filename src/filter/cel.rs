//! `--cel-expression` for input without a server, as Hubble's server
//! evaluates it: each expression sees the flow as `_flow` (a `flow.Flow`
//! with proto field names, enums as numbers, unset scalars as their zero
//! value) and the enums of the `flow` package by name (`Verdict.DROPPED`).
//! The expressions are tried in order: the flow passes at the first that
//! yields `true` and fails at the first that cannot be evaluated, whatever
//! those after it would say, as in Hubble, which logs the error.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex, PoisonError},
};

use cel::{
    Context, Env, ExecutionError, IdedExpr, ParseError,
    common::ast::{CallExpr, EntryExpr, Expr, IdedEntryExpr, LiteralValue},
    objects::{Key, Map, Value},
    parser::Parser,
};
use prost_types::{
    DescriptorProto,
    field_descriptor_proto::{Label, Type},
};

use super::{FilterError, cel_check};
use crate::proto::{DESCRIPTORS, flow::Flow};

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
    let set = &*DESCRIPTORS;
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
    /// Each expression, with its presence tests rewritten (see `rewrite_has`).
    programs: Vec<IdedExpr>,
    /// The evaluation errors logged so far. Hubble logs one line per flow
    /// that fails; each distinct error once says as much without writing a
    /// line per flow for as long as a `--follow` runs.
    logged: Mutex<Vec<String>>,
}

/// The standard environment, built once rather than for each flow.
static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| Arc::new(Env::stdlib()));

/// The function presence tests are evaluated with.
const HAS: &str = "@has";

/// The hidden key of a message's map that lists its fields present as
/// protobuf defines presence: a set message, a non-zero scalar, a
/// non-empty list.
const PRESENT: &str = "@present";

impl CelFilter {
    /// Compiles and checks each expression as Hubble does; the first that
    /// fails is the error.
    pub fn new(expressions: &[String]) -> Result<Self, FilterError> {
        let programs = expressions
            .iter()
            .map(|expression| compile(expression))
            .collect::<Result<_, FilterError>>()?;
        Ok(Self {
            programs,
            logged: Mutex::default(),
        })
    }

    /// Whether `flow` passes: an expression yields `true` before any fails
    /// to evaluate (see the module's documentation). Deep expressions need
    /// a thread with [`EVALUATION_STACK`].
    pub fn matches(&self, flow: &Flow) -> bool {
        let mut context = Context::with_env(Arc::clone(&ENV));
        context.add_variable_from_value("_flow", flow_value(flow));
        for (name, value) in &SCHEMA.constants {
            context.add_variable_from_value(name.clone(), value.clone());
        }
        if context.add_function(HAS, has_field).is_err() {
            return false;
        }
        for program in &self.programs {
            match Value::resolve(program, &context) {
                Ok(Value::Bool(true)) => return true,
                Ok(Value::Bool(false)) => {}
                // The checker refuses expressions of other types; should a
                // value of one come through, hubble's conversion fails it.
                Ok(other) => {
                    let error =
                        format!("type conversion error from '{}' to 'bool'", other.type_of());
                    self.log_once("invalid conversion in CEL program", error);
                    return false;
                }
                Err(error) => {
                    self.log_once("error running CEL program", go_error(&error));
                    return false;
                }
            }
        }
        false
    }

    /// Logs an evaluation error as Hubble does, unless it was logged before.
    fn log_once(&self, message: &str, error: String) {
        // Past this many distinct errors (an index or a key from each flow),
        // more lines would tell nothing new.
        const MAX_LOGGED: usize = 16;
        let mut logged = self.logged.lock().unwrap_or_else(PoisonError::into_inner);
        if logged.len() < MAX_LOGGED && !logged.contains(&error) {
            crate::log::write("ERROR", message, &[("error", &error)]);
            logged.push(error);
        }
    }
}

/// An evaluation error in cel-go's words where the two libraries meet the
/// same failure, so that hubl's log reads as hubble's; cel's own text
/// otherwise.
fn go_error(error: &ExecutionError) -> String {
    let plain = |value: &Value| match value {
        Value::Int(n) => n.to_string(),
        Value::UInt(n) => n.to_string(),
        Value::String(text) => text.to_string(),
        other => format!("{other:?}"),
    };
    match error {
        ExecutionError::IndexOutOfBounds(index) => format!("index out of bounds: {}", plain(index)),
        ExecutionError::NoSuchKey(key) => format!("no such key: {key}"),
        ExecutionError::DivisionByZero(_) => "division by zero".to_owned(),
        ExecutionError::RemainderByZero(_) => "modulus by zero".to_owned(),
        // Time zones are this crate's (patch/chrono-tz), named as Go names them.
        ExecutionError::FunctionError { function, message } if function == "timezone" => {
            message.clone()
        }
        other => other.to_string(),
    }
}

/// `has(m.f)`: for a message, whether `f` is present; for a map, whether
/// it has the key.
fn has_field(container: Value, field: Arc<String>) -> bool {
    let Value::Map(map) = container else {
        return false;
    };
    match map.map.get(&*PRESENT_KEY) {
        Some(Value::List(names)) => names
            .iter()
            .any(|name| matches!(name, Value::String(name) if **name == *field)),
        _ => map.map.contains_key(&Key::String(field)),
    }
}

/// Turns each presence test `has(x.f)` into `@has(x, "f")`. Unset message
/// fields read as their default message, as in cel-go, so that
/// `!(_flow.l7.dns.query == "x")` holds for a flow without L7; a map with
/// every field cannot answer `has()` by its keys, so `@has` reads the
/// message's list of present fields instead.
fn rewrite_has(expression: &mut IdedExpr) {
    match &mut expression.expr {
        Expr::Select(select) if select.test => {
            let mut operand = std::mem::take(&mut *select.operand);
            rewrite_has(&mut operand);
            let field = IdedExpr {
                id: expression.id,
                expr: Expr::Literal(LiteralValue::String(select.field.clone().into())),
            };
            expression.expr = Expr::Call(CallExpr {
                func_name: HAS.to_owned(),
                target: None,
                args: vec![operand, field],
            });
        }
        Expr::Select(select) => rewrite_has(&mut select.operand),
        Expr::Call(call) => {
            if let Some(target) = &mut call.target {
                rewrite_has(target);
            }
            call.args.iter_mut().for_each(rewrite_has);
        }
        Expr::Comprehension(comprehension) => {
            for part in [
                &mut comprehension.iter_range,
                &mut comprehension.accu_init,
                &mut comprehension.loop_cond,
                &mut comprehension.loop_step,
                &mut comprehension.result,
            ] {
                rewrite_has(part);
            }
        }
        Expr::List(list) => list.elements.iter_mut().for_each(rewrite_has),
        Expr::Map(map) => {
            for entry in &mut map.entries {
                if let EntryExpr::MapEntry(entry) = &mut entry.expr {
                    rewrite_has(&mut entry.key);
                    rewrite_has(&mut entry.value);
                }
            }
        }
        Expr::Struct(structure) => {
            for entry in &mut structure.entries {
                if let EntryExpr::StructField(field) = &mut entry.expr {
                    rewrite_has(&mut field.value);
                }
            }
        }
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
}

/// cel-go's parser limit (its default `MaxRecursionDepth`), which Hubble
/// keeps: 249 nested expressions compile, the 250th is refused.
const MAX_RECURSION_DEPTH: u16 = 250;

/// cel-go's default limit on the length of an expression, in characters.
const MAX_CODE_POINTS: usize = 100_000;

/// The stack a thread needs to evaluate any expression `CelFilter` accepts:
/// evaluation recurses once per nesting level, about 40 KB a level
/// unoptimized. The two limits of 250 each count only some kinds of
/// nesting, so together they allow about 500 levels.
pub const EVALUATION_STACK: usize = 32 << 20;

/// The stack parsing and checking run on. The ANTLR-generated parser goes
/// through a dozen rules per nesting level with large frames (over 100 KB a
/// level unoptimized), so cel-go's depth would overflow even a main thread's
/// 8 MiB; a reservation costs address space only, pages are committed as
/// they are touched.
const COMPILE_STACK: usize = 256 << 20;

/// Parses and type-checks `expression`, with cel-go's messages on failure,
/// into the tree `CelFilter` evaluates.
fn compile(expression: &str) -> Result<IdedExpr, FilterError> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("cel-compile".to_owned())
            .stack_size(COMPILE_STACK)
            .spawn_scoped(scope, || compile_here(expression))
            .map_err(|error| {
                FilterError::Cel(format!(
                    "cannot start a thread to parse the expression: {error}"
                ))
            })?
            .join()
            .unwrap_or_else(|_| Err(FilterError::Cel("the CEL parser failed".to_owned())))
    })
}

/// Whether `error` is the parser's depth limit. The crate passes it up as
/// the text of an aborted parse, with follow-on errors about the rules the
/// abort left empty; cel-go reports it alone.
fn is_recursion_limit(error: &ParseError) -> bool {
    error.msg.contains("Recursion limit of ")
}

fn compile_here(expression: &str) -> Result<IdedExpr, FilterError> {
    let size = expression.chars().count();
    if size > MAX_CODE_POINTS {
        return Err(FilterError::Cel(format!(
            "ERROR: <input>:-1:0: expression code point size exceeds limit: size: {size}, limit {MAX_CODE_POINTS}"
        )));
    }
    let (mut tree, source) = Parser::new()
        // The crate takes the deepest nesting it accepts; cel-go, the first
        // it refuses.
        .max_recursion_depth(MAX_RECURSION_DEPTH - 1)
        .parse_with_source_info(expression)
        .map_err(|errors| {
            if errors.errors.iter().any(is_recursion_limit) {
                // cel-go reports its limit without a position.
                return FilterError::Cel(format!(
                    "ERROR: <input>:-1:0: expression recursion limit exceeded: {MAX_RECURSION_DEPTH}"
                ));
            }
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
    if visit_depth(&tree) > usize::from(MAX_RECURSION_DEPTH) {
        // cel-go builds its tree by recursion too, and limits that as well.
        return Err(FilterError::Cel(
            "ERROR: <input>:-1:0: max recursion depth exceeded".to_owned(),
        ));
    }
    cel_check::check(&tree, &source, expression).map_err(FilterError::Cel)?;
    rewrite_has(&mut tree);
    Ok(tree)
}

/// Operators whose nesting cel-go's tree builder counts: relations,
/// arithmetic, conditionals and indexing (`&&` and `||` become balanced
/// trees, and negations and global calls are not counted).
const COUNTED_OPERATORS: &[&str] = &[
    "_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_", "@in", "_+_", "_-_", "_*_", "_/_", "_%_",
    "_?_:_", "_[_]",
];

/// How deep cel-go's tree builder recurses for `expression`: the most
/// selections, member calls (macros included), counted operators nested in
/// one another. Without this bound a chain such as `1 + 1 + ... + 1`, which
/// the parser's own limit does not see, would nest deep enough to overflow
/// the evaluation's stack.
fn visit_depth(expression: &IdedExpr) -> usize {
    fn deepest<'a>(parts: impl Iterator<Item = &'a IdedExpr>) -> usize {
        parts.map(visit_depth).max().unwrap_or(0)
    }
    fn entries(entries: &[IdedEntryExpr]) -> impl Iterator<Item = &IdedExpr> {
        entries
            .iter()
            .flat_map(|entry| match &entry.expr {
                EntryExpr::MapEntry(entry) => [Some(&entry.key), Some(&entry.value)],
                EntryExpr::StructField(field) => [Some(&field.value), None],
            })
            .flatten()
    }
    match &expression.expr {
        Expr::Select(select) => 1 + visit_depth(&select.operand),
        Expr::Call(call) => {
            let counted =
                call.target.is_some() || COUNTED_OPERATORS.contains(&call.func_name.as_str());
            usize::from(counted) + deepest(call.target.as_deref().into_iter().chain(&call.args))
        }
        Expr::Comprehension(comprehension) => {
            1 + deepest(
                [
                    &comprehension.iter_range,
                    &comprehension.accu_init,
                    &comprehension.loop_cond,
                    &comprehension.loop_step,
                    &comprehension.result,
                ]
                .into_iter(),
            )
        }
        Expr::List(list) => deepest(list.elements.iter()),
        Expr::Map(map) => deepest(entries(&map.entries)),
        Expr::Struct(structure) => deepest(entries(&structure.entries)),
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => 0,
    }
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

/// How deep default messages are built: deeper than any path through the
/// flow API, and a bound should a message contain itself.
const MAX_DEPTH: usize = 6;

fn message_value(json: &serde_json::Value, type_name: &str) -> Value {
    let (Some(message), Some(names)) = (SCHEMA.messages.get(type_name), NAMES.get(type_name))
    else {
        return json_value(json);
    };
    let object = json.as_object();
    let mut map = HashMap::with_capacity(message.field.len() + 1);
    let mut present = Vec::new();
    for (field, name) in message.field.iter().zip(names) {
        let found = object
            .and_then(|o| o.get(field.name()).or_else(|| o.get(field.json_name())))
            .filter(|value| !value.is_null());
        let repeated = field.label() == Label::Repeated;
        let value = match found {
            Some(serde_json::Value::Array(items)) if repeated => Value::List(Arc::new(
                items.iter().map(|item| field_value(item, field)).collect(),
            )),
            Some(value) => field_value(value, field),
            None if repeated => Value::List(Arc::new(Vec::new())),
            None => match unset_value(field) {
                Some(value) => value,
                None => continue,
            },
        };
        let is_present = match (&value, field.r#type()) {
            (Value::List(items), _) => !items.is_empty(),
            (_, Type::Message | Type::Group) => found.is_some(),
            (value, _) => !is_zero(value),
        };
        if is_present {
            present.push(Value::String(Arc::clone(name)));
        }
        map.insert(Key::String(Arc::clone(name)), value);
    }
    map.insert(PRESENT_KEY.clone(), Value::List(Arc::new(present)));
    Value::Map(Map { map: Arc::new(map) })
}

/// Each message's field names, in descriptor order, shared by every value.
static NAMES: LazyLock<HashMap<String, Vec<Arc<String>>>> = LazyLock::new(|| {
    SCHEMA
        .messages
        .iter()
        .map(|(name, message)| {
            let names = message
                .field
                .iter()
                .map(|field| Arc::new(field.name().to_owned()))
                .collect();
            (name.clone(), names)
        })
        .collect()
});

static PRESENT_KEY: LazyLock<Key> = LazyLock::new(|| Key::String(Arc::new(PRESENT.to_owned())));

/// The default message of every type, built once: an unset message field
/// reads as one.
static DEFAULTS: LazyLock<HashMap<String, Value>> = LazyLock::new(|| {
    let mut defaults = HashMap::new();
    for name in SCHEMA.messages.keys() {
        default_message(name, 0, &mut defaults);
    }
    defaults
});

/// The default message of `type_name`, every field unset, none present.
fn default_message(type_name: &str, depth: usize, built: &mut HashMap<String, Value>) -> Value {
    if let Some(value) = built.get(type_name) {
        return value.clone();
    }
    let mut map = HashMap::new();
    for field in SCHEMA
        .messages
        .get(type_name)
        .map_or(&[][..], |message| &message.field[..])
    {
        let value = if field.label() == Label::Repeated {
            Value::List(Arc::new(Vec::new()))
        } else if field.r#type() != Type::Message {
            match zero_value(field) {
                Some(zero) => zero,
                None => continue,
            }
        } else {
            match field.type_name() {
                ".google.protobuf.Timestamp" => {
                    Value::Timestamp(chrono::DateTime::UNIX_EPOCH.fixed_offset())
                }
                name if name.starts_with(".google.protobuf.") && name.ends_with("Value") => {
                    Value::Null
                }
                name if depth < MAX_DEPTH && SCHEMA.messages.contains_key(name) => {
                    default_message(name, depth + 1, built)
                }
                _ => continue,
            }
        };
        map.insert(Key::String(Arc::new(field.name().to_owned())), value);
    }
    map.insert(PRESENT_KEY.clone(), Value::List(Arc::new(Vec::new())));
    let value = Value::Map(Map { map: Arc::new(map) });
    built.insert(type_name.to_owned(), value.clone());
    value
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::Int(n) => *n == 0,
        Value::UInt(n) => *n == 0,
        Value::Float(n) => *n == 0.0,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

/// What an unset field reads as in cel-go: a scalar's zero value, `null`
/// for a wrapper, the epoch for a timestamp, a message's default.
fn unset_value(field: &prost_types::FieldDescriptorProto) -> Option<Value> {
    if field.r#type() != Type::Message {
        return zero_value(field);
    }
    match field.type_name() {
        ".google.protobuf.Timestamp" => Some(Value::Timestamp(
            chrono::DateTime::UNIX_EPOCH.fixed_offset(),
        )),
        name if name.starts_with(".google.protobuf.") && name.ends_with("Value") => {
            Some(Value::Null)
        }
        name => DEFAULTS.get(name).cloned(),
    }
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
    fn unset_fields_read_as_in_cel_go() {
        // An unset message is its default, yet not present.
        assert!(matches("!has(_flow.l7)", DROP));
        assert!(!matches("_flow.l7.http.code == 200u", DROP));
        assert!(matches("!(_flow.l7.http.code == 200u)", DROP));
        // A wrapper is null; a scalar is present when it is not zero.
        assert!(matches(
            "_flow.is_reply == null && !has(_flow.is_reply)",
            DROP
        ));
        assert!(matches(
            "has(_flow.socket_cookie) && !has(_flow.node_name)",
            DROP
        ));
        assert!(matches("has(_flow.source) && has(_flow.l4.TCP)", DROP));
        assert!(matches("!has(_flow.source.labels)", DROP));
        // A map literal answers has() by its keys.
        assert!(matches("has({'a': 0}.a) && !has({'a': 0}.b)", DROP));
    }

    /// As Hubble's filter: the first expression that fails to evaluate
    /// fails the flow, even when a later one would pass it.
    #[test]
    fn expressions_are_tried_in_order() {
        let passes = |expressions: &[&str]| {
            let expressions: Vec<String> = expressions.iter().map(|e| e.to_string()).collect();
            CelFilter::new(&expressions).unwrap().matches(&flow(DROP))
        };
        let fails = "_flow.source.labels[10] == 'x'";
        assert!(!passes(&[fails, "true"]));
        assert!(passes(&["true", fails]));
        assert!(!passes(&["false", fails, "true"]));
        assert!(passes(&["false", "true"]));
        assert!(!passes(&["false", "false"]));
    }

    /// Evaluation errors are logged in the words hubble v1.19.4 logged for
    /// the same expressions.
    #[test]
    fn evaluation_errors_read_as_in_cel_go() {
        for (expression, error) in [
            (
                "_flow.time.getHours('Mars/X') == 1",
                "unknown time zone Mars/X",
            ),
            (
                "_flow.source.identity / (_flow.source.identity - _flow.source.identity) == 1u",
                "division by zero",
            ),
            ("_flow.source.identity % 0u == 1u", "modulus by zero"),
            (
                "{'a': 1}[_flow.source.namespace] == 1",
                "no such key: cilium-test",
            ),
            ("_flow.source.labels[-1] == ''", "index out of bounds: -1"),
        ] {
            let filter = CelFilter::new(&[expression.to_owned()]).unwrap();
            assert!(!filter.matches(&flow(DROP)), "{expression}");
            assert!(!filter.matches(&flow(DROP)), "{expression}");
            // Logged once, however many flows it fails on.
            assert_eq!(*filter.logged.lock().unwrap(), [error], "{expression}");
        }
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

    /// Zone names resolve in the system's zoneinfo files, exactly as named,
    /// as Go's time.LoadLocation resolves them for hubble's cel-go.
    #[test]
    fn time_zones_by_name() {
        let summer = r#"{"time":"2023-07-01T12:00:00Z"}"#;
        let winter = r#"{"time":"2023-01-01T12:00:00Z"}"#;
        assert!(matches("_flow.time.getHours('Europe/Paris') == 14", summer));
        assert!(matches("_flow.time.getHours('Europe/Paris') == 13", winter));
        assert!(matches(
            "_flow.time.getHours('America/New_York') == 8",
            summer
        ));
        assert!(matches(
            "_flow.time.getHours('Asia/Kolkata') == 17 && _flow.time.getMinutes('Asia/Kolkata') == 30",
            summer
        ));
        assert!(matches(
            "_flow.time.getDayOfWeek('Pacific/Kiritimati') == 0",
            summer
        ));
        assert!(matches("_flow.time.getHours('UTC') == 12", summer));
        assert!(matches("_flow.time.getHours('-03:00') == 9", summer));
        // An unknown name (or one in the wrong case) is an evaluation error,
        // which matches no flow either way.
        for zone in ["Mars/Olympus_Mons", "europe/paris", "../Paris"] {
            let hours = format!("_flow.time.getHours('{zone}')");
            assert!(!matches(&format!("{hours} == 12"), summer), "{zone}");
            assert!(!matches(&format!("{hours} != 12"), summer), "{zone}");
        }
    }

    #[test]
    fn enum_values_by_their_package_name() {
        assert!(matches("flow.Verdict.DROPPED == _flow.verdict", DROP));
        assert!(!matches("_flow.verdict == flow.Verdict.FORWARDED", DROP));
    }

    fn refusal(expression: &str) -> String {
        match CelFilter::new(&[expression.to_owned()]) {
            Err(FilterError::Cel(report)) => report,
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("accepted an expression nested too deep"),
        }
    }

    /// cel-go's limits, with the messages hubble v1.19.4 printed.
    #[test]
    fn nesting_and_size_are_limited_as_cel_go_limits_them() {
        let parenthesized = |n| format!("{}true{}", "(".repeat(n), ")".repeat(n));
        assert!(CelFilter::new(&[parenthesized(249)]).is_ok());
        assert_eq!(
            refusal(&parenthesized(250)),
            "ERROR: <input>:-1:0: expression recursion limit exceeded: 250"
        );
        let sum = |n| format!("{} > 0", vec!["1"; n].join(" + "));
        assert!(CelFilter::new(&[sum(250)]).is_ok());
        assert_eq!(
            refusal(&sum(251)),
            "ERROR: <input>:-1:0: max recursion depth exceeded"
        );
        assert_eq!(
            refusal(&format!("true{}", " ".repeat(100_000))),
            "ERROR: <input>:-1:0: expression code point size exceeds limit: size: 100004, \
             limit 100000"
        );
    }

    /// The deepest expressions accepted evaluate on a thread with
    /// `EVALUATION_STACK`, as the command's thread has, unoptimized too.
    #[test]
    fn the_deepest_accepted_expressions_evaluate() {
        let deepest = [
            format!("{}true{}", "(".repeat(249), " && true)".repeat(249)),
            format!("{}true{} != []", "[".repeat(249), "]".repeat(249)),
            format!("{} == 250", vec!["1"; 250].join(" + ")),
            format!("{}1{} == 1", "-(-(".repeat(124), "))".repeat(124)),
            // Nesting that only the parser counts around nesting that only
            // the tree builder counts: about 480 levels.
            format!(
                "{}{} == 240{}",
                "!(".repeat(240),
                vec!["1"; 240].join(" + "),
                ")".repeat(240)
            ),
        ];
        let filter = CelFilter::new(&deepest).unwrap();
        let evaluated = std::thread::Builder::new()
            .stack_size(EVALUATION_STACK)
            .spawn(move || filter.matches(&flow(DROP)))
            .unwrap()
            .join()
            .unwrap();
        assert!(evaluated);
    }
}
