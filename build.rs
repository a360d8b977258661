//! Compiles `proto/` into prost messages, tonic clients and servers, and
//! proto3-JSON serde impls, with no system `protoc`: protox parses the files
//! and both generators read the one descriptor set it produces.

use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTOS: &[&str] = &[
    "flow/flow.proto",
    "relay/relay.proto",
    "observer/observer.proto",
    "peer/peer.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    pack_relative_relocations();
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    let fds = protox::compile(PROTOS, ["proto"])?;
    let descriptor_path = out_dir.join("hubble_descriptor.bin");
    fs::write(&descriptor_path, fds.encode_to_vec())?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // pbjson-types carries serde impls for the well-known types, which
        // prost-types does not.
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        // pbjson-types writes `+00:00`; protojson writes `Z`, so Hubble's
        // JSON needs a Timestamp of our own.
        .extern_path(".google.protobuf.Timestamp", "crate::proto::Timestamp")
        // A flow is over a kilobyte; boxed, a response moves through
        // streams and channels as a pointer.
        .boxed(".observer.GetFlowsResponse.response_types.flow")
        .file_descriptor_set_path(&descriptor_path)
        .skip_protoc_run()
        .compile_fds(fds.clone())?;

    replay_observer_service();

    // Hubble prints JSON with protojson's UseProtoNames: `node_name`, `IP`,
    // `Type`; pbjson still accepts the camelCase names when reading.
    pbjson_build::Builder::new()
        .register_descriptors(&fs::read(&descriptor_path)?)?
        .preserve_proto_field_names()
        .ignore_unknown_fields()
        .build(&[".flow", ".relay", ".observer", ".peer"])?;

    for package in ["flow", "relay", "observer", "peer"] {
        let path = out_dir.join(format!("{package}.serde.rs"));
        let code = open_enums(&fs::read_to_string(&path)?)?;
        fs::write(&path, code)?;
    }
    Ok(())
}

/// The binary's 55,000 relative relocations, as DT_RELR (a bitmap, some
/// 20 KB) instead of 1.3 MB of Elf64_Rela records that the dynamic loader
/// reads, and so keeps resident, at every start: a tenth of `hubl
/// observe`'s peak RSS. Only where the C library it links against reads
/// the packed form (glibc 2.36 and later define GLIBC_ABI_DT_RELR, which
/// the linker then requires), and not when cross-compiling, where that
/// library is not the host's. GNU ld before 2.38 ignores the option with a
/// warning.
fn pack_relative_relocations() {
    let var = |key| env::var(key).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
        || var("TARGET") != var("HOST")
    {
        return;
    }
    let reads_relr = [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/lib/aarch64-linux-gnu/libc.so.6",
        "/lib64/libc.so.6",
        "/usr/lib64/libc.so.6",
        "/usr/lib/libc.so.6",
    ]
    .iter()
    .filter_map(|path| fs::read(path).ok())
    .any(|libc| libc.windows(17).any(|w| w == b"GLIBC_ABI_DT_RELR"));
    if reads_relr {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Proto3 enums are open: Go's protojson reads and writes a number it has no
/// name for, and Hubble's captures contain such numbers (new drop reasons,
/// newer observation points). pbjson rejects them on both paths, so its enum
/// conversions are routed through `crate::proto::OpenEnum`, which keeps the
/// number. The build fails if pbjson's output no longer has the shape we
/// rewrite, rather than silently keeping the closed behaviour.
fn open_enums(code: &str) -> Result<String, Box<dyn std::error::Error>> {
    let rewrites = [
        (
            r#"let v = ([\w:]+)::try_from\(self\.([\w#]+)\)\s*\.map_err\(\|_\| serde::ser::Error::custom\(format!\("Invalid variant \{\}", self\.[\w#]+\)\)\)\?;"#,
            "let v = crate::proto::OpenEnum::<$1>::new(self.$2);",
        ),
        (
            r#"let v = self\.([\w#]+)\.iter\(\)\.cloned\(\)\.map\(\|v\| \{\s*([\w:]+)::try_from\(v\)\s*\.map_err\(\|_\| serde::ser::Error::custom\(format!\("Invalid variant \{\}", v\)\)\)\s*\}\)\.collect::<std::result::Result<Vec<_>, _>>\(\)\?;"#,
            "let v = self.$1.iter().map(|&v| crate::proto::OpenEnum::<$2>::new(v)).collect::<Vec<_>>();",
        ),
        (
            r#"map_\.next_value::<Vec<([\w:]+)>>\(\)\?\.into_iter\(\)\.map\(\|x\| x as i32\)\.collect\(\)"#,
            "map_.next_value::<Vec<crate::proto::OpenEnum<$1>>>()?.into_iter().map(crate::proto::OpenEnum::get).collect()",
        ),
        (
            r#"map_\.next_value::<([\w:]+)>\(\)\? as i32"#,
            "map_.next_value::<crate::proto::OpenEnum<$1>>()?.get()",
        ),
    ];
    // pbjson reads numbers through an untagged enum, which buffers every
    // value and builds an error for each number; ours reads them directly.
    let mut code = code.replace(
        "::pbjson::private::NumberDeserialize<",
        "crate::proto::Number<",
    );
    for (pattern, replacement) in rewrites {
        code = regex::Regex::new(pattern)?
            .replace_all(&code, replacement)
            .into_owned();
    }
    if code.contains("Invalid variant") || code.contains(" as i32") {
        return Err("pbjson's enum code changed shape; update open_enums in build.rs".into());
    }
    // protojson takes `null` for any field as the field left out; pbjson
    // only for messages. Every other field is read as an Option. (A null
    // and then a value for one field is taken, where protojson refuses the
    // field given twice: pbjson keeps no trace of the null, and tracking it
    // would cost every field for a line no tool writes.)
    let nulls = [
        (
            r#"Some\(map_\.next_value::<crate::proto::OpenEnum<([\w:]+)>>\(\)\?\.get\(\)\)"#,
            "map_.next_value::<::std::option::Option<crate::proto::OpenEnum<$1>>>()?.map(crate::proto::OpenEnum::get)",
        ),
        // A name not known is left out of a list, as protojson does.
        (
            r#"Some\(map_\.next_value::<Vec<crate::proto::OpenEnum<([\w:]+)>>>\(\)\?\.into_iter\(\)\.map\(crate::proto::OpenEnum::get\)\.collect\(\)\)"#,
            "map_.next_value::<::std::option::Option<Vec<crate::proto::OpenEnum<$1>>>>()?.map(|v| v.into_iter().filter_map(crate::proto::OpenEnum::known).collect())",
        ),
        (
            r#"Some\(map_\.next_value::<crate::proto::Number<_>>\(\)\?\.0\)"#,
            "map_.next_value::<::std::option::Option<crate::proto::Number<_>>>()?.map(|x| x.0)",
        ),
        (
            r#"Some\(map_\.next_value::<Vec<crate::proto::Number<_>>>\(\)\?\s*\.into_iter\(\)\.map\(\|x\| x\.0\)\.collect\(\)\)"#,
            "map_.next_value::<::std::option::Option<Vec<crate::proto::Number<_>>>>()?.map(|v| v.into_iter().map(|x| x.0).collect())",
        ),
        (
            r#"Some\(map_\.next_value\(\)\?\)"#,
            "map_.next_value::<::std::option::Option<_>>()?",
        ),
    ];
    for (pattern, replacement) in nulls {
        code = regex::Regex::new(pattern)?
            .replace_all(&code, replacement)
            .into_owned();
    }
    if code.contains("Some(map_.next_value") {
        return Err("pbjson's field code changed shape; update open_enums in build.rs".into());
    }
    // A capture from a newer Hubble has fields this build does not know;
    // pbjson skips them silently. Telling the user once needs to know that
    // one was skipped, which a flag set here tells far more cheaply than
    // wrapping every decoder to watch for it.
    let skip = "_ => Ok(GeneratedField::__SkipField__),";
    if !code.contains(skip) {
        return Err("pbjson's unknown-field code changed shape; update build.rs".into());
    }
    Ok(code.replace(
        skip,
        "_ => { crate::proto::unknown_field_skipped(); Ok(GeneratedField::__SkipField__) }",
    ))
}

/// The Observer service as `hubl serve` implements it: the same routes and
/// messages as the generated one, except that GetFlows streams responses
/// already encoded (a capture is held as its encoded responses, and most
/// are sent as they are stored), written by a codec of our own.
fn replay_observer_service() {
    use tonic_build::manual::{Method, Service};

    // (method, route, request, response, codec, whether it streams)
    let methods = [
        (
            "get_flows",
            "GetFlows",
            "crate::proto::observer::GetFlowsRequest",
            "crate::serve::codec::Encoded",
            "crate::serve::codec::EncodedCodec",
            true,
        ),
        (
            "get_agent_events",
            "GetAgentEvents",
            "crate::proto::observer::GetAgentEventsRequest",
            "crate::proto::observer::GetAgentEventsResponse",
            "tonic_prost::ProstCodec",
            true,
        ),
        (
            "get_debug_events",
            "GetDebugEvents",
            "crate::proto::observer::GetDebugEventsRequest",
            "crate::proto::observer::GetDebugEventsResponse",
            "tonic_prost::ProstCodec",
            true,
        ),
        (
            "get_nodes",
            "GetNodes",
            "crate::proto::observer::GetNodesRequest",
            "crate::proto::observer::GetNodesResponse",
            "tonic_prost::ProstCodec",
            false,
        ),
        (
            "get_namespaces",
            "GetNamespaces",
            "crate::proto::observer::GetNamespacesRequest",
            "crate::proto::observer::GetNamespacesResponse",
            "tonic_prost::ProstCodec",
            false,
        ),
        (
            "server_status",
            "ServerStatus",
            "crate::proto::observer::ServerStatusRequest",
            "crate::proto::observer::ServerStatusResponse",
            "tonic_prost::ProstCodec",
            false,
        ),
    ];
    let mut service = Service::builder().name("Observer").package("observer");
    for (name, route, input, output, codec, streaming) in methods {
        let mut method = Method::builder()
            .name(name)
            .route_name(route)
            .input_type(input)
            .output_type(output)
            .codec_path(codec);
        if streaming {
            method = method.server_streaming();
        }
        service = service.method(method.build());
    }
    tonic_build::manual::Builder::new()
        .build_client(false)
        .compile(&[service.build()]);
}
