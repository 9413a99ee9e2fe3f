//! Generated protobuf/gRPC bindings.
//!
//! * [`tfplugin6`] — the Terraform plugin protocol, version 6.10
//!   (`proto/tfplugin6.proto`), service `tfplugin6.Provider`.
//! * [`plugin`] — go-plugin's helper services `plugin.GRPCController`,
//!   `plugin.GRPCStdio` and `plugin.GRPCBroker`.
//!
//! Both modules contain message types, a `*_server` module (trait + tonic
//! service) and a `*_client` module per service. Every server trait method
//! has a default body answering gRPC `Unimplemented`, so implementors only
//! override the RPCs they support. The traits are `#[tonic::async_trait]`
//! traits, so implementations need `#[tonic::async_trait]` on the `impl`.
//! Streaming RPCs return [`BoxStream<T>`] (tonic's boxed stream alias).

/// Terraform plugin protocol 6 (`package tfplugin6`).
#[allow(missing_docs, unused_qualifications, unreachable_pub, clippy::all, clippy::pedantic, clippy::nursery)]
pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}

/// go-plugin internal services (`package plugin`).
#[allow(missing_docs, unused_qualifications, unreachable_pub, clippy::all, clippy::pedantic, clippy::nursery)]
pub mod plugin {
    tonic::include_proto!("plugin");
}

/// Response stream type of the generated streaming RPCs
/// (e.g. `GrpcStdio::stream_stdio`, `GrpcBroker::start_stream`).
pub type BoxStream<T> = tonic::codegen::BoxStream<T>;

/// Minor version of the tfplugin6 protocol transcribed in `proto/tfplugin6.proto`.
pub const TFPLUGIN6_MINOR_VERSION: u32 = 10;

#[cfg(test)]
mod tests {
    use super::plugin;
    use super::tfplugin6 as tf;
    use prost::Message;

    /// Splits a protobuf encoding into (field number, wire type, payload) triples
    /// for the top level of a message. Only the wire types used by these
    /// messages (varint and length-delimited) are supported.
    fn fields(mut buf: &[u8]) -> Vec<(u32, u8, Vec<u8>)> {
        fn varint(buf: &mut &[u8]) -> u64 {
            let mut v = 0u64;
            let mut shift = 0;
            loop {
                let b = buf[0];
                *buf = &buf[1..];
                v |= u64::from(b & 0x7f) << shift;
                if b & 0x80 == 0 {
                    return v;
                }
                shift += 7;
            }
        }
        let mut out = Vec::new();
        while !buf.is_empty() {
            let key = varint(&mut buf);
            let field = u32::try_from(key >> 3).expect("field number");
            let wire = u8::try_from(key & 7).expect("wire type");
            match wire {
                0 => {
                    let v = varint(&mut buf);
                    let mut enc = Vec::new();
                    prost::encoding::encode_varint(v, &mut enc);
                    out.push((field, wire, enc));
                }
                2 => {
                    let len = usize::try_from(varint(&mut buf)).expect("len");
                    out.push((field, wire, buf[..len].to_vec()));
                    buf = &buf[len..];
                }
                other => panic!("unexpected wire type {other}"),
            }
        }
        out
    }

    fn tags(buf: &[u8]) -> Vec<u32> {
        fields(buf).into_iter().map(|(f, _, _)| f).collect()
    }

    #[test]
    fn dynamic_value_msgpack_is_tag_1_json_is_tag_2() {
        let dv = tf::DynamicValue { msgpack: vec![0xc0], json: vec![] };
        // key = (1 << 3) | 2 = 0x0a, len 1, nil
        assert_eq!(dv.encode_to_vec(), vec![0x0a, 0x01, 0xc0]);

        let dv = tf::DynamicValue { msgpack: vec![], json: b"{}".to_vec() };
        // key = (2 << 3) | 2 = 0x12
        assert_eq!(dv.encode_to_vec(), vec![0x12, 0x02, b'{', b'}']);
    }

    #[test]
    fn diagnostic_and_attribute_path_numbers() {
        let d = tf::Diagnostic {
            severity: tf::diagnostic::Severity::Error as i32,
            summary: "s".into(),
            detail: "d".into(),
            attribute: Some(tf::AttributePath {
                steps: vec![
                    tf::attribute_path::Step { selector: Some(tf::attribute_path::step::Selector::AttributeName("weight".into())) },
                    tf::attribute_path::Step { selector: Some(tf::attribute_path::step::Selector::ElementKeyInt(3)) },
                    tf::attribute_path::Step { selector: Some(tf::attribute_path::step::Selector::ElementKeyString("k".into())) },
                ],
            }),
        };
        let bytes = d.encode_to_vec();
        let f = fields(&bytes);
        assert_eq!(f[0], (1, 0, vec![1]), "severity ERROR = 1 at tag 1");
        assert_eq!(f[1], (2, 2, b"s".to_vec()));
        assert_eq!(f[2], (3, 2, b"d".to_vec()));
        assert_eq!(f[3].0, 4, "attribute path at tag 4");
        let steps = fields(&f[3].2);
        assert!(steps.iter().all(|(n, _, _)| *n == 1), "steps at tag 1");
        assert_eq!(fields(&steps[0].2), vec![(1, 2, b"weight".to_vec())]);
        assert_eq!(fields(&steps[1].2), vec![(3, 0, vec![3])]);
        assert_eq!(fields(&steps[2].2), vec![(2, 2, b"k".to_vec())]);
        assert_eq!(tf::diagnostic::Severity::Warning as i32, 2);
        assert_eq!(tf::Diagnostic::decode(bytes.as_slice()).unwrap(), d);
    }

    #[test]
    fn get_provider_schema_response_round_trips_with_expected_tags() {
        let attr = tf::schema::Attribute {
            name: "weight".into(),
            r#type: b"\"number\"".to_vec(),
            description: "desc".into(),
            required: true,
            optional: false,
            computed: false,
            sensitive: true,
            description_kind: tf::StringKind::Markdown as i32,
            deprecated: true,
            deprecation_message: "use another".into(),
            write_only: true,
            nested_type: Some(tf::schema::Object {
                attributes: vec![],
                nesting: tf::schema::object::NestingMode::List as i32,
                ..Default::default()
            }),
        };
        let block = tf::schema::Block {
            version: 3,
            attributes: vec![attr.clone()],
            block_types: vec![tf::schema::NestedBlock {
                type_name: "rule".into(),
                block: Some(tf::schema::Block::default()),
                nesting: tf::schema::nested_block::NestingMode::Set as i32,
                min_items: 1,
                max_items: 5,
            }],
            description: "b".into(),
            description_kind: tf::StringKind::Plain as i32,
            deprecated: false,
            deprecation_message: String::new(),
        };
        let schema = tf::Schema { version: 7, block: Some(block) };
        let mut resp = tf::get_provider_schema::Response {
            provider: Some(schema.clone()),
            server_capabilities: Some(tf::ServerCapabilities { plan_destroy: true, ..Default::default() }),
            ..Default::default()
        };
        resp.resource_schemas.insert("bluegreen_thing".into(), schema.clone());
        resp.data_source_schemas.insert("bluegreen_data".into(), schema.clone());
        resp.diagnostics.push(tf::Diagnostic::default());

        let bytes = resp.encode_to_vec();
        assert_eq!(tf::get_provider_schema::Response::decode(bytes.as_slice()).unwrap(), resp);

        let mut t = tags(&bytes);
        t.sort_unstable();
        assert_eq!(t, vec![1, 2, 3, 4, 6], "provider/resources/data/diags/caps");

        // provider schema: version tag 1, block tag 2
        let top = fields(&bytes);
        let provider = &top.iter().find(|f| f.0 == 1).unwrap().2;
        let pf = fields(provider);
        assert_eq!(pf[0], (1, 0, vec![7]));
        assert_eq!(pf[1].0, 2);
        // block: version 1, attributes 2, block_types 3, description 4
        let bf = fields(&pf[1].2);
        assert_eq!(bf.iter().map(|f| f.0).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
        // attribute numbering, incl. the out-of-order nested_type = 10, write_only = 11 and deprecation_message = 12
        let mut af: Vec<(u32, u8, Vec<u8>)> = fields(&bf[1].2);
        af.sort_by_key(|f| f.0);
        assert_eq!(af.iter().map(|f| f.0).collect::<Vec<_>>(), vec![1, 2, 3, 4, 7, 8, 9, 10, 11, 12]);
        assert_eq!(af[0].2, b"weight");
        assert_eq!(af[1].2, b"\"number\"");
        assert_eq!(af[5], (8, 0, vec![1]), "description_kind MARKDOWN = 1");
        assert_eq!(fields(&af[7].2), vec![(3, 0, vec![2])], "Object.nesting LIST at tag 3");
        // nested block: type_name 1, block 2, nesting 3 (SET = 3), min 4, max 5
        let nb = fields(&bf[2].2);
        assert_eq!(
            nb.iter().map(|f| (f.0, f.2.clone())).collect::<Vec<_>>(),
            vec![(1, b"rule".to_vec()), (2, vec![]), (3, vec![3]), (4, vec![1]), (5, vec![5])]
        );
        // server capabilities: plan_destroy tag 1
        let caps = &top.iter().find(|f| f.0 == 6).unwrap().2;
        assert_eq!(caps, &vec![0x08, 0x01]);
    }

    #[test]
    fn resource_lifecycle_message_numbers() {
        let dv = |b: u8| Some(tf::DynamicValue { msgpack: vec![b], json: vec![] });
        let plan = tf::plan_resource_change::Request {
            type_name: "t".into(),
            prior_state: dv(1),
            proposed_new_state: dv(2),
            config: dv(3),
            prior_private: vec![4],
            provider_meta: dv(5),
            client_capabilities: Some(tf::ClientCapabilities { deferral_allowed: true, write_only_attributes_allowed: false }),
            prior_identity: None,
        };
        let f = fields(&plan.encode_to_vec());
        assert_eq!(f.iter().map(|f| f.0).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(f[1].2, vec![0x0a, 0x01, 1]);
        assert_eq!(f[3].2, vec![0x0a, 0x01, 3], "config at tag 4");
        assert_eq!(f[4].2, vec![4], "prior_private at tag 5");

        let presp = tf::plan_resource_change::Response {
            planned_state: dv(1),
            requires_replace: vec![tf::AttributePath::default()],
            planned_private: vec![9],
            diagnostics: vec![tf::Diagnostic::default()],
            legacy_type_system: false,
            deferred: None,
            planned_identity: None,
        };
        assert_eq!(tags(&presp.encode_to_vec()), vec![1, 2, 3, 4]);

        let apply = tf::apply_resource_change::Response {
            new_state: dv(1),
            private: vec![2],
            diagnostics: vec![tf::Diagnostic::default()],
            legacy_type_system: false,
            new_identity: None,
        };
        assert_eq!(tags(&apply.encode_to_vec()), vec![1, 2, 3]);

        let read = tf::read_resource::Response {
            new_state: dv(1),
            diagnostics: vec![tf::Diagnostic::default()],
            private: vec![3],
            deferred: None,
            new_identity: None,
        };
        assert_eq!(tags(&read.encode_to_vec()), vec![1, 2, 3]);

        let upgrade = tf::upgrade_resource_state::Request {
            type_name: "t".into(),
            version: 1,
            raw_state: Some(tf::RawState { json: b"{}".to_vec(), flatmap: Default::default() }),
        };
        let f = fields(&upgrade.encode_to_vec());
        assert_eq!(f.iter().map(|f| f.0).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(fields(&f[2].2), vec![(1, 2, b"{}".to_vec())], "RawState.json tag 1");

        let vpc = tf::validate_provider_config::Response { diagnostics: vec![tf::Diagnostic::default()] };
        assert_eq!(tags(&vpc.encode_to_vec()), vec![2], "upstream uses tag 2 here");

        let stop = tf::stop_provider::Response { error: "x".into() };
        assert_eq!(stop.encode_to_vec(), vec![0x0a, 0x01, b'x']);

        let cfg = tf::configure_provider::Request { terraform_version: "1.0.3".into(), config: dv(1), client_capabilities: None };
        assert_eq!(tags(&cfg.encode_to_vec()), vec![1, 2]);
    }

    #[test]
    fn go_plugin_message_numbers() {
        let d = plugin::StdioData { channel: plugin::stdio_data::Channel::Stderr as i32, data: b"hi".to_vec() };
        assert_eq!(d.encode_to_vec(), vec![0x08, 0x02, 0x12, 0x02, b'h', b'i']);

        let c = plugin::ConnInfo {
            service_id: 1,
            network: "unix".into(),
            address: "/s".into(),
            knock: Some(plugin::conn_info::Knock { knock: true, ack: false, error: String::new() }),
        };
        assert_eq!(tags(&c.encode_to_vec()), vec![1, 2, 3, 4]);
        assert!(plugin::Empty {}.encode_to_vec().is_empty());
    }

    #[test]
    fn service_paths_match_upstream() {
        use tonic::server::NamedService;
        struct P;
        impl tf::provider_server::Provider for P {}
        struct C;
        impl plugin::grpc_controller_server::GrpcController for C {}
        struct S;
        impl plugin::grpc_stdio_server::GrpcStdio for S {}
        struct B;
        impl plugin::grpc_broker_server::GrpcBroker for B {}
        assert_eq!(<tf::provider_server::ProviderServer<P> as NamedService>::NAME, "tfplugin6.Provider");
        assert_eq!(<plugin::grpc_controller_server::GrpcControllerServer<C> as NamedService>::NAME, "plugin.GRPCController");
        assert_eq!(<plugin::grpc_stdio_server::GrpcStdioServer<S> as NamedService>::NAME, "plugin.GRPCStdio");
        assert_eq!(<plugin::grpc_broker_server::GrpcBrokerServer<B> as NamedService>::NAME, "plugin.GRPCBroker");
    }
    /// Drives the generated server through the generated client without a
    /// network: an overridden RPC answers, the others report `Unimplemented`.
    #[tokio::test]
    async fn default_stubs_answer_unimplemented() {
        struct P;
        #[tonic::async_trait]
        impl tf::provider_server::Provider for P {
            async fn get_provider_schema(
                &self,
                _request: tonic::Request<tf::get_provider_schema::Request>,
            ) -> Result<tonic::Response<tf::get_provider_schema::Response>, tonic::Status> {
                Ok(tonic::Response::new(tf::get_provider_schema::Response {
                    provider: Some(tf::Schema { version: 1, block: Some(tf::schema::Block::default()) }),
                    ..Default::default()
                }))
            }
        }
        let mut client = tf::provider_client::ProviderClient::new(tf::provider_server::ProviderServer::new(P));
        let schema = client.get_provider_schema(tf::get_provider_schema::Request {}).await.expect("implemented").into_inner();
        assert_eq!(schema.provider.map(|s| s.version), Some(1));

        let err = client.get_resource_identity_schemas(tf::get_resource_identity_schemas::Request {}).await.expect_err("not implemented");
        assert_eq!(err.code(), tonic::Code::Unimplemented);

        let err = client.list_resource(tf::list_resource::Request::default()).await.expect_err("streaming rpc not implemented");
        assert_eq!(err.code(), tonic::Code::Unimplemented);
    }
}
