//! Generates the gRPC bindings for the Terraform plugin protocol (tfplugin6)
//! and go-plugin's helper services from the `.proto` files in `proto/`.
//!
//! No system `protoc` is needed: `protox` parses the files in pure Rust
//! (it also bundles the `google/protobuf/*.proto` well-known types) and
//! `tonic-prost-build` turns the resulting descriptor set into Rust code.

use std::path::PathBuf;

const PROTO_DIR: &str = "proto";

const PROTO_FILES: &[&str] = &["tfplugin6.proto", "grpc_controller.proto", "grpc_stdio.proto", "grpc_broker.proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_dir = manifest_dir.join(PROTO_DIR);

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", proto_dir.display());
    for file in PROTO_FILES {
        println!("cargo:rerun-if-changed={}", proto_dir.join(file).display());
    }

    let files: Vec<PathBuf> = PROTO_FILES.iter().map(|f| proto_dir.join(f)).collect();
    let fds = protox::compile(&files, [&proto_dir])?;

    tonic_prost_build::configure()
        // The provider binary serves these services...
        .build_server(true)
        // ...and the in-process protocol tests drive them through a client.
        .build_client(true)
        // Every RPC gets a default body returning gRPC `Unimplemented`, so
        // the provider only overrides what it actually supports.
        .generate_default_stubs(true)
        // google.protobuf.* (Timestamp, Empty) come from prost-types / `()`.
        .compile_well_known_types(false)
        .emit_rerun_if_changed(false)
        .compile_fds(fds)?;

    Ok(())
}
