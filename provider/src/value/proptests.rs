//! Property tests: random types with random conforming values (nulls and unknowns anywhere) must
//! round-trip through both codecs, and no input bytes may make a decoder panic.

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::strategy::Union;

use super::*;

fn name() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[a-z_][a-z0-9_]{0,7}", 1 => ".{0,6}"]
}

fn arb_type(allow_dynamic: bool) -> impl Strategy<Value = Type> {
    let leaf = if allow_dynamic {
        prop_oneof![Just(Type::Bool), Just(Type::Number), Just(Type::String), Just(Type::Dynamic)].boxed()
    } else {
        prop_oneof![Just(Type::Bool), Just(Type::Number), Just(Type::String)].boxed()
    };
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            btree_map(name(), inner.clone(), 0..4).prop_map(Type::Object),
            vec(inner, 0..4).prop_map(Type::Tuple),
        ]
    })
}

fn arb_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        (-300i64..300).prop_map(Number::from),
        any::<f64>().prop_filter_map("NaN is not a cty number", Number::from_f64),
        (any::<bool>(), "[0-9]{1,40}", -600i64..600).prop_map(|(neg, digits, exp)| {
            Number::parse(&format!("{}{digits}e{exp}", if neg { "-" } else { "" })).expect("generated decimal parses")
        }),
        Just(Number::parse("1e100000").expect("parses")),
    ]
}

/// A value conforming to `ty`: null or (if allowed) unknown anywhere, else a random concrete value.
fn arb_value(ty: &Type, unknowns: bool) -> BoxedStrategy<Value> {
    let concrete: BoxedStrategy<Value> = match ty {
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Number => arb_number().prop_map(Value::Number).boxed(),
        Type::String => any::<String>().prop_map(Value::String).boxed(),
        Type::List(et) => vec(arb_value(et, unknowns), 0..4).prop_map(Value::List).boxed(),
        Type::Set(et) => vec(arb_value(et, unknowns), 0..4).prop_map(Value::Set).boxed(),
        Type::Map(et) => btree_map(".{0,6}", arb_value(et, unknowns), 0..4).prop_map(Value::Map).boxed(),
        Type::Tuple(ets) => ets.iter().map(|et| arb_value(et, unknowns)).collect::<Vec<_>>().prop_map(Value::Tuple).boxed(),
        Type::Object(attrs) => {
            let names: Vec<String> = attrs.keys().cloned().collect();
            attrs
                .values()
                .map(|at| arb_value(at, unknowns))
                .collect::<Vec<_>>()
                .prop_map(move |values| Value::Object(names.iter().cloned().zip(values).collect()))
                .boxed()
        }
        // Under dynamic, any concrete type may appear.
        Type::Dynamic => arb_type(false).prop_flat_map(move |t| arb_value(&t, unknowns)).boxed(),
    };
    let mut options = vec![(1, Just(Value::Null).boxed()), (6, concrete)];
    if unknowns {
        options.push((1, Just(Value::Unknown).boxed()));
    }
    Union::new_weighted(options).boxed()
}

fn typed_value(unknowns: bool) -> impl Strategy<Value = (Type, Value)> {
    arb_type(true).prop_flat_map(move |t| (Just(t.clone()), arb_value(&t, unknowns)))
}

proptest! {
    // At least 512 cases; PROPTEST_CASES raises it for a longer soak.
    #![proptest_config(ProptestConfig { cases: ProptestConfig::default().cases.max(512), ..ProptestConfig::default() })]

    #[test]
    fn msgpack_round_trips((ty, v) in typed_value(true)) {
        let bytes = msgpack::encode(&v, &ty).expect("conforming value encodes");
        let back = msgpack::decode(&bytes, &ty).expect("own encoding decodes");
        prop_assert_eq!(&back, &v);
        // Deterministic bytes: re-encoding the decoded value gives the same encoding.
        prop_assert_eq!(msgpack::encode(&back, &ty).expect("re-encodes"), bytes);
    }

    #[test]
    fn json_round_trips((ty, v) in typed_value(false)) {
        let bytes = json::encode(&v, &ty).expect("known conforming value encodes");
        let back = json::decode(&bytes, &ty).expect("own encoding decodes");
        prop_assert_eq!(&back, &v);
        prop_assert_eq!(json::encode(&back, &ty).expect("re-encodes"), bytes);
    }

    #[test]
    fn json_refuses_unknowns((ty, v) in typed_value(true)) {
        let result = json::encode(&v, &ty);
        prop_assert_eq!(result.is_ok(), v.is_known());
    }

    #[test]
    fn msgpack_decode_never_panics(bytes in vec(any::<u8>(), 0..200), ty in arb_type(true)) {
        let _ = msgpack::decode(&bytes, &ty);
    }

    #[test]
    fn msgpack_decode_survives_corruption((ty, v) in typed_value(true), cut in any::<prop::sample::Index>(), flips in vec((any::<prop::sample::Index>(), any::<u8>()), 0..4)) {
        let mut bytes = msgpack::encode(&v, &ty).expect("encodes");
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        let _ = msgpack::decode(&bytes, &ty);
        let _ = msgpack::decode(&bytes[..cut.index(bytes.len() + 1)], &ty);
        let _ = msgpack::decode(&bytes, &Type::Dynamic);
    }

    #[test]
    fn json_decode_never_panics(bytes in vec(any::<u8>(), 0..200), text in "[\\[\\]{}\":,0-9a-z .eE+\\-\\\\]{0,64}", ty in arb_type(true)) {
        let _ = json::decode(&bytes, &ty);
        let _ = json::decode(text.as_bytes(), &ty);
        let _ = json::decode_with(text.as_bytes(), &ty, json::DecodeOptions { ignore_undefined_attributes: true });
    }

    #[test]
    fn json_decode_survives_corruption((ty, v) in typed_value(false), cut in any::<prop::sample::Index>(), flips in vec((any::<prop::sample::Index>(), any::<u8>()), 0..4)) {
        let mut bytes = json::encode(&v, &ty).expect("encodes");
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        let _ = json::decode(&bytes, &ty);
        let _ = json::decode(&bytes[..cut.index(bytes.len() + 1)], &ty);
    }

    #[test]
    fn type_json_round_trips(ty in arb_type(true)) {
        prop_assert_eq!(Type::from_json(&ty.to_json()).expect("own JSON parses"), ty.clone());
        prop_assert_eq!(Type::from_json_bytes(ty.to_json_string().as_bytes()).expect("own text parses"), ty);
    }

    #[test]
    fn number_text_round_trips(n in arb_number()) {
        prop_assert_eq!(Number::parse(&n.to_string()).expect("own text parses"), n);
    }

    #[test]
    fn number_equality_is_numeric(i in any::<i64>(), f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        prop_assert_eq!(Number::parse(&i.to_string()).expect("int parses"), Number::from(i));
        prop_assert_eq!(Number::parse(&format!("{i}.000e0")).expect("int parses"), Number::from(i));
        let n = Number::from_f64(f).expect("finite");
        prop_assert_eq!(n.as_f64(), if f == 0.0 { 0.0 } else { f });
        // Rust prints the shortest text that rounds back to f, not f's exact value: parsing it
        // gives the same number only when that text is exact.
        let shortest = Number::parse(&format!("{f:e}")).expect("float text parses");
        prop_assert_eq!(shortest.as_f64(), if f == 0.0 { 0.0 } else { f });
    }

    #[test]
    fn number_parse_never_panics(text in "[-+0-9.eEinfI]{0,30}") {
        let _ = Number::parse(&text);
    }
}
