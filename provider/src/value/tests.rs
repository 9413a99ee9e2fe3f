//! Byte-level tests. The msgpack vectors are the ones terraform-plugin-go's
//! `tftypes/value_msgpack_test.go` pins for go-cty compatibility (`TestValueFromMsgPack`,
//! `TestMsgPack_refinements`), plus go-cty number rules from `cty/msgpack/marshal.go`.

use std::collections::BTreeMap;

use super::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn num(s: &str) -> Value {
    Value::Number(Number::parse(s).unwrap())
}

fn s(v: &str) -> Value {
    Value::string(v)
}

fn obj(attrs: &[(&str, Type)]) -> Type {
    Type::object(attrs.iter().map(|(k, t)| (*k, t.clone())))
}

/// Encodes to exactly `hexstr` and decodes back to `value`.
#[track_caller]
fn both_ways(hexstr: &str, value: Value, ty: Type) {
    let got = msgpack::encode(&value, &ty).unwrap_or_else(|e| panic!("encode {value:?} as {ty}: {e}"));
    assert_eq!(to_hex(&got), hexstr, "encoding {value:?} as {ty}");
    let back = msgpack::decode(&hex(hexstr), &ty).unwrap_or_else(|e| panic!("decode {hexstr} as {ty}: {e}"));
    assert_eq!(back, value, "decoding {hexstr} as {ty}");
}

#[track_caller]
fn decodes_to(hexstr: &str, ty: Type, value: Value) {
    let back = msgpack::decode(&hex(hexstr), &ty).unwrap_or_else(|e| panic!("decode {hexstr} as {ty}: {e}"));
    assert_eq!(back, value, "decoding {hexstr} as {ty}");
}

#[track_caller]
fn decode_err(bytes: &[u8], ty: &Type) -> String {
    match msgpack::decode(bytes, ty) {
        Ok(v) => panic!("decoding {} as {ty} should fail, got {v:?}", to_hex(bytes)),
        Err(e) => e.to_string(),
    }
}

#[test]
fn msgpack_primitives_match_go_cty() {
    both_ways("a568656c6c6f", s("hello"), Type::String);
    both_ways("a0", s(""), Type::String);
    both_ways("c0", Value::Null, Type::String);
    both_ways("d40000", Value::Unknown, Type::String);
    both_ways("c3", Value::Bool(true), Type::Bool);
    both_ways("c2", Value::Bool(false), Type::Bool);
    both_ways("c0", Value::Null, Type::Bool);
    both_ways("d40000", Value::Unknown, Type::Bool);
    both_ways("01", Value::number(1i64), Type::Number);
    both_ways("cb3ff8000000000000", num("1.5"), Type::Number);
    both_ways(&format!("d964{}", "39".repeat(100)), num(&"9".repeat(100)), Type::Number);
    // 0.8 is not exactly an f64, so go-cty writes it as text.
    both_ways("a3302e38", num("0.8"), Type::Number);
    both_ways("cb7ff0000000000000", num("+Inf"), Type::Number);
    both_ways("cbfff0000000000000", num("-Inf"), Type::Number);
}

#[test]
fn msgpack_collections_match_go_cty() {
    let ls = Type::list(Type::String);
    both_ways("91a568656c6c6f", Value::list([s("hello")]), ls.clone());
    both_ways("91d40000", Value::list([Value::Unknown]), ls.clone());
    both_ways("91c0", Value::list([Value::Null]), ls.clone());
    both_ways("c0", Value::Null, ls.clone());
    both_ways("90", Value::list([]), ls);
    let ss = Type::set(Type::String);
    both_ways("91a568656c6c6f", Value::set([s("hello")]), ss.clone());
    both_ways("91d40000", Value::set([Value::Unknown]), ss.clone());
    both_ways("90", Value::set([]), ss);
    let ms = Type::map(Type::String);
    both_ways("81a86772656574696e67a568656c6c6f", Value::map([("greeting", s("hello"))]), ms.clone());
    both_ways("81a86772656574696e67d40000", Value::map([("greeting", Value::Unknown)]), ms.clone());
    both_ways("81a86772656574696e67c0", Value::map([("greeting", Value::Null)]), ms.clone());
    both_ways("80", Value::map::<&str>([]), ms);
    both_ways("91a568656c6c6f", Value::tuple([s("hello")]), Type::tuple([Type::String]));
    both_ways("91c0", Value::tuple([Value::Null]), Type::tuple([Type::String]));
    both_ways("90", Value::tuple([]), Type::tuple([]));
    let greeting = obj(&[("greeting", Type::String)]);
    both_ways("81a86772656574696e67a568656c6c6f", Value::object([("greeting", s("hello"))]), greeting.clone());
    both_ways("81a86772656574696e67d40000", Value::object([("greeting", Value::Unknown)]), greeting.clone());
    both_ways("81a86772656574696e67c0", Value::object([("greeting", Value::Null)]), greeting);
    let ab = obj(&[("a", Type::String), ("b", Type::String)]);
    both_ways("82a161c0a162c0", Value::object([("a", Value::Null), ("b", Value::Null)]), ab.clone());
    both_ways("82a161d40000a162d40000", Value::object([("a", Value::Unknown), ("b", Value::Unknown)]), ab);
    both_ways("80", Value::object::<&str>([]), obj(&[]));
}

#[test]
fn msgpack_dynamic_matches_go_cty() {
    let d = Type::Dynamic;
    both_ways("92c40622626f6f6c22c3", Value::Bool(true), d.clone());
    both_ways("92c408226e756d6265722201", Value::number(1i64), d.clone());
    both_ways("92c40822737472696e6722a568656c6c6f", s("hello"), d.clone());
    both_ways("92c4115b226c697374222c22737472696e67225d91a568656c6c6f", Value::list([s("hello")]), d.clone());
    both_ways("92c4105b22736574222c22737472696e67225d91a568656c6c6f", Value::set([s("hello")]), d.clone());
    both_ways("92c4105b226d6170222c22737472696e67225d81a568656c6c6fa568656c6c6f", Value::map([("hello", s("hello"))]), d.clone());
    both_ways("c0", Value::Null, d.clone());
    both_ways("d40000", Value::Unknown, d.clone());
    both_ways("9192c40822737472696e6722a568656c6c6f", Value::list([s("hello")]), Type::list(Type::Dynamic));
    both_ways("9192c40822737472696e6722a568656c6c6f", Value::set([s("hello")]), Type::set(Type::Dynamic));
    both_ways("91d40000", Value::list([Value::Unknown]), Type::list(Type::Dynamic));
    both_ways("81a86772656574696e6792c40822737472696e6722a568656c6c6f", Value::map([("greeting", s("hello"))]), Type::map(Type::Dynamic));
    both_ways(
        "81a86772656574696e6792c40822737472696e6722a568656c6c6f",
        Value::object([("greeting", s("hello"))]),
        obj(&[("greeting", Type::Dynamic)]),
    );
    both_ways("81a161c0", Value::object([("a", Value::Null)]), obj(&[("a", Type::Dynamic)]));
    both_ways(
        "9292c40822737472696e6722a568656c6c6f92c40822737472696e6722a5776f726c64",
        Value::tuple([s("hello"), s("world")]),
        Type::tuple([Type::Dynamic, Type::Dynamic]),
    );
    // A typed null under dynamic decodes to (untyped) null; we write the bare nil back.
    decodes_to("92c40822737472696e6722c0", d.clone(), Value::Null);
    decodes_to("9192c40822737472696e6722c0", Type::list(Type::Dynamic), Value::list([Value::Null]));
    // The type JSON may also arrive as a msgpack str.
    decodes_to("92a822737472696e6722a568656c6c6f", d.clone(), s("hello"));
    // Type inference under dynamic: empty collections and nulls leave `dynamic` holes, elements unify.
    let v = Value::list([Value::object([("a", Value::Null)]), Value::object([("a", num("2"))])]);
    let bytes = msgpack::encode(&v, &d).unwrap();
    let type_json = br#"["list",["object",{"a":"number"}]]"#;
    assert!(to_hex(&bytes).starts_with(&format!("92c4{:02x}{}", type_json.len(), to_hex(type_json))));
    assert_eq!(msgpack::decode(&bytes, &d).unwrap(), v);
    let mixed = Value::list([s("a"), num("1")]);
    assert!(msgpack::encode(&mixed, &d).unwrap_err().to_string().contains("inconsistent"));
}

#[test]
fn msgpack_refined_unknowns_read_as_unknown() {
    // tftypes TestMsgPack_refinements vectors (go-cty cty/msgpack/unknown.go, extension 0x0c).
    let cases = [
        ("c7030c8101c2", Type::Bool),
        ("c7030c8101c2", Type::Number),
        ("c7030c8101c2", Type::String),
        ("c7030c8101c2", Type::list(Type::String)),
        ("c7030c8101c2", obj(&[("attr", Type::String)])),
        ("c70e0c8201c202a97072656669783a2f2f", Type::String),
        ("c70b0c8301c2039201c3049205c3", Type::Number),
        ("c70b0c8301c2039201c2049205c2", Type::Number),
        ("c71b0c8301c20392cb3ff3ae147ae147aec30492cb4016ae147ae147aec3", Type::Number),
        ("c7070c8301c205010605", Type::list(Type::String)),
        ("c7070c8301c205000604", Type::map(Type::Number)),
        ("c7070c8301c205020606", Type::set(Type::Bool)),
        ("c7030c8101c2", Type::Dynamic),
    ];
    for (h, ty) in cases {
        decodes_to(h, ty, Value::Unknown);
    }
    // Inside containers, the refinement payload is skipped exactly.
    decodes_to(
        "82a161c70e0c8201c202a97072656669783a2f2fa162a0",
        obj(&[("a", Type::String), ("b", Type::String)]),
        Value::object([("a", Value::Unknown), ("b", s(""))]),
    );
    decodes_to("92c7030c8101c201", Type::list(Type::Number), Value::list([Value::Unknown, num("1")]));
    // Every extension form is an unknown: fixext 1..16, ext 8/16/32, any type code.
    let long_prefix = format!("c8{:04x}0c8201c202d9{:02x}{}", 4 + 2 + 200, 200, "61".repeat(200));
    for h in [
        "d40000",
        "d5000000",
        "d60c00000000",
        "d7ff0000000000000000",
        &format!("d812{}", "00".repeat(16)),
        "c7000c",
        &long_prefix,
        "c9000000010c00",
    ] {
        decodes_to(h, Type::String, Value::Unknown);
    }
}

#[test]
fn msgpack_numbers_follow_go_cty_rules() {
    // Written: compact int when it fits i64, f64 when exact, else decimal text.
    let cases: &[(&str, &str)] = &[
        ("0", "00"),
        ("127", "7f"),
        ("128", "cc80"),
        ("255", "ccff"),
        ("256", "cd0100"),
        ("65536", "ce00010000"),
        ("4294967296", "cf0000000100000000"),
        ("9223372036854775807", "cf7fffffffffffffff"),
        ("-1", "ff"),
        ("-32", "e0"),
        ("-33", "d0df"),
        ("-129", "d1ff7f"),
        ("-32769", "d2ffff7fff"),
        ("-9223372036854775808", "d38000000000000000"),
        // 2^63 does not fit i64 but is an exact f64: go-cty writes the float.
        ("9223372036854775808", "cb43e0000000000000"),
        ("18446744073709551616", "cb43f0000000000000"),
        ("9223372036854775809", "b339323233333732303336383534373735383039"),
        ("18446744073709551615", "b43138343436373434303733373039353531363135"),
        ("0.5", "cb3fe0000000000000"),
        ("-2.25", "cbc002000000000000"),
        ("1e300", &format!("da012d31{}", "30".repeat(300))),
        ("12345678901234567890123", "b73132333435363738393031323334353637383930313233"),
        ("0.1", "a3302e31"),
    ];
    for (text, h) in cases {
        both_ways(h, num(text), Type::Number);
    }
    // 1e22 is an exact f64 (5^22 < 2^53) but 1e23 is not: float vs. text, as go-cty decides.
    both_ways(&format!("cb{:016x}", 1e22f64.to_bits()), num("1e22"), Type::Number);
    both_ways(&format!("b8{}", to_hex(format!("1{}", "0".repeat(23)).as_bytes())), num("1e23"), Type::Number);
    // 1e400 is written in full, as big.Float.Text('f', -1) does.
    let bytes = msgpack::encode(&num("1e400"), &Type::Number).unwrap();
    assert_eq!(&bytes[..3], &[0xda, 0x01, 0x91]);
    assert_eq!(bytes.len(), 3 + 401);
    // Read: every width, both float sizes, str and bin text.
    let reads: &[(&str, &str)] = &[
        ("cc05", "5"),
        ("cd0005", "5"),
        ("ce00000005", "5"),
        ("cf0000000000000005", "5"),
        ("cfffffffffffffffff", "18446744073709551615"),
        ("d0fb", "-5"),
        ("d1fffb", "-5"),
        ("d2fffffffb", "-5"),
        ("d3fffffffffffffffb", "-5"),
        ("fb", "-5"),
        ("ca3fc00000", "1.5"),
        ("ca40a00000", "5"),
        ("cb4014000000000000", "5"),
        ("a53565343030", "5e400"),
        ("c405352e303030", "5.000"),
        ("d903312e35", "1.5"),
    ];
    for (h, text) in reads {
        decodes_to(h, Type::Number, num(text));
    }
    assert!(decode_err(&hex("cb7ff8000000000000"), &Type::Number).contains("NaN"));
    assert!(decode_err(&hex("a3616263"), &Type::Number).contains("number is required"));
    assert!(decode_err(&hex("c3"), &Type::Number).contains("number is required"));
}

#[test]
fn msgpack_strings_accept_bin_and_reject_bad_utf8() {
    decodes_to("c403616263", Type::String, s("abc"));
    decodes_to("d903616263", Type::String, s("abc"));
    decodes_to("da0003616263", Type::String, s("abc"));
    decodes_to("db00000003616263", Type::String, s("abc"));
    assert!(decode_err(&hex("a2c328"), &Type::String).contains("UTF-8"));
    assert!(decode_err(&hex("01"), &Type::String).contains("string is required"));
    // Long strings use str8/16 the way vmihailenco/msgpack does.
    let long = "x".repeat(40);
    assert_eq!(&msgpack::encode(&s(&long), &Type::String).unwrap()[..2], &[0xd9, 40]);
    let longer = "x".repeat(300);
    assert_eq!(&msgpack::encode(&s(&longer), &Type::String).unwrap()[..3], &[0xda, 0x01, 0x2c]);
}

fn nested_schema() -> Type {
    obj(&[
        ("blue", obj(&[("alias", obj(&[("name", Type::String), ("zone", Type::String)])), ("weight", Type::Number)])),
        ("targets", Type::list(Type::String)),
        ("tags", Type::map(Type::String)),
    ])
}

#[test]
fn msgpack_errors_name_the_path() {
    let ty = nested_schema();
    let good = Value::object([
        ("blue", Value::object([("alias", Value::object([("name", s("n")), ("zone", s("z"))])), ("weight", num("10"))])),
        ("targets", Value::list([s("a"), s("b"), s("c")])),
        ("tags", Value::map([("env", s("prod"))])),
    ]);
    let bytes = msgpack::encode(&good, &ty).unwrap();
    assert_eq!(msgpack::decode(&bytes, &ty).unwrap(), good);

    // Wrong type deep inside: .blue.alias.name is a number.
    let mut bad = good.clone();
    if let Value::Object(top) = &mut bad {
        if let Some(Value::Object(blue)) = top.get_mut("blue") {
            blue.insert("alias".into(), Value::object([("name", num("1")), ("zone", s("z"))]));
        }
    }
    let bad_ty = obj(&[
        ("blue", obj(&[("alias", obj(&[("name", Type::Number), ("zone", Type::String)])), ("weight", Type::Number)])),
        ("targets", Type::list(Type::String)),
        ("tags", Type::map(Type::String)),
    ]);
    let err = msgpack::decode(&msgpack::encode(&bad, &bad_ty).unwrap(), &ty).unwrap_err();
    assert_eq!(err.to_string(), ".blue.alias.name: string is required");
    assert_eq!(err.path.0, vec![PathStep::Attr("blue".into()), PathStep::Attr("alias".into()), PathStep::Attr("name".into())]);
    // Encoding a non-conforming value names the path too.
    let err = msgpack::encode(&bad, &ty).unwrap_err();
    assert_eq!(err.to_string(), ".blue.alias.name: string is required, got number");

    // [2] in a list, ["k"] in a map.
    let list_bytes = hex("93a161a16201");
    assert_eq!(msgpack::decode(&list_bytes, &Type::list(Type::String)).unwrap_err().to_string(), "[2]: string is required");
    let map_bytes = hex("81a16bc3");
    assert_eq!(msgpack::decode(&map_bytes, &Type::map(Type::String)).unwrap_err().to_string(), "[\"k\"]: string is required");

    // Missing and extra attributes are named.
    let ab = obj(&[("a", Type::String), ("b", Type::String)]);
    assert_eq!(decode_err(&hex("81a161c0"), &ab), "missing attribute \"b\"");
    assert_eq!(decode_err(&hex("83a161c0a162c0a163c0"), &ab), "unsupported attribute \"c\"");
    assert_eq!(decode_err(&hex("82a161c0a161c0"), &ab), "duplicate attribute \"a\"");
    assert_eq!(decode_err(&hex("80"), &ab), "missing attribute \"a\"");
    assert_eq!(decode_err(&hex("8101c0"), &ab), "attribute name as string is required");
    let nested = obj(&[("outer", ab.clone())]);
    assert_eq!(decode_err(&hex("81a56f7574657281a161c0"), &nested), ".outer: missing attribute \"b\"");
    let err = msgpack::encode(&Value::object([("a", Value::Null)]), &ab).unwrap_err();
    assert_eq!(err.to_string(), "missing attribute \"b\"");
    let err = msgpack::encode(&Value::object([("a", Value::Null), ("b", Value::Null), ("z", Value::Null)]), &ab).unwrap_err();
    assert_eq!(err.to_string(), "unsupported attribute \"z\"");

    // Tuples need their exact length.
    assert!(decode_err(&hex("91c0"), &Type::tuple([Type::String, Type::String])).contains("length 2"));
    // Container kind mismatches.
    assert_eq!(decode_err(&hex("c3"), &Type::list(Type::String)), "a list is required");
    assert_eq!(decode_err(&hex("90"), &Type::map(Type::String)), "a map is required");
    assert_eq!(decode_err(&hex("91c0"), &Type::Dynamic), "dynamic value array must have exactly two elements");
    assert!(decode_err(&hex("92c4035b315dc0"), &Type::Dynamic).contains("invalid type description"));
}

#[test]
fn msgpack_hostile_input_fails_cleanly() {
    let ty = nested_schema();
    // Truncations of a valid encoding.
    let good = msgpack::encode(
        &Value::object([
            ("blue", Value::Unknown),
            ("targets", Value::list([s("a"), Value::Unknown])),
            ("tags", Value::map([("k", s("v"))])),
        ]),
        &ty,
    )
    .unwrap();
    for cut in 0..good.len() {
        assert!(msgpack::decode(&good[..cut], &ty).is_err(), "truncated at {cut}");
    }
    // Trailing bytes.
    let mut trailing = good.clone();
    trailing.push(0xc0);
    assert!(decode_err(&trailing, &ty).contains("unexpected bytes after"));
    // Huge length prefixes with no data behind them: no allocation, just an error.
    for h in ["ddffffffff", "dfffffffff", "dbffffffff", "c9ffffffff0c", "c6ffffffff"] {
        let ty = match &h[..2] {
            "dd" => Type::list(Type::String),
            "df" => Type::map(Type::String),
            _ => Type::String,
        };
        let _ = decode_err(&hex(h), &ty);
    }
    // Reserved marker.
    let _ = decode_err(&hex("c1"), &Type::String);
    let _ = decode_err(&[], &Type::String);
}

fn nested_lists(levels: usize) -> (Type, Value) {
    let mut ty = Type::String;
    let mut v = s("x");
    for _ in 0..levels {
        ty = Type::list(ty);
        v = Value::list([v]);
    }
    (ty, v)
}

#[test]
fn depth_is_bounded() {
    let (ty, v) = nested_lists(MAX_DEPTH);
    let bytes = msgpack::encode(&v, &ty).unwrap();
    assert_eq!(msgpack::decode(&bytes, &ty).unwrap(), v);
    let json = json::encode(&v, &ty).unwrap();
    assert_eq!(json::decode(&json, &ty).unwrap(), v);

    let (deep_ty, deep_v) = nested_lists(MAX_DEPTH + 1);
    assert!(msgpack::encode(&deep_v, &deep_ty).unwrap_err().to_string().contains("deeper than 64"));
    assert!(json::encode(&deep_v, &deep_ty).unwrap_err().to_string().contains("deeper than 64"));
    let mut bytes = vec![0x91; MAX_DEPTH + 1];
    bytes.push(0xa0);
    assert!(decode_err(&bytes, &deep_ty).contains("deeper than 64"));
    let text = format!("{}\"x\"{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
    assert!(json::decode(text.as_bytes(), &deep_ty).unwrap_err().to_string().contains("deeper than 64"));

    // A dynamic value cannot smuggle in depth: its type JSON and its nesting are bounded too.
    let type_json = format!("{}\"string\"{}", "[\"list\",".repeat(100), "]".repeat(100));
    let mut bytes = vec![0x92, 0xc5];
    bytes.extend_from_slice(&(type_json.len() as u16).to_be_bytes());
    bytes.extend_from_slice(type_json.as_bytes());
    bytes.extend(std::iter::repeat_n(0x91, 100));
    bytes.push(0xa0);
    assert!(msgpack::decode(&bytes, &Type::Dynamic).is_err());
    // 100 000 nested arrays under dynamic: error, not stack overflow.
    let mut bytes = vec![0x91; 100_000];
    bytes.push(0xc0);
    assert!(msgpack::decode(&bytes, &Type::list(Type::Dynamic)).is_err());
    let text = "[".repeat(100_000);
    assert!(json::decode(text.as_bytes(), &Type::Dynamic).is_err());
}

#[test]
fn type_json_round_trips() {
    let cases: &[(&str, Type)] = &[
        ("\"string\"", Type::String),
        ("\"number\"", Type::Number),
        ("\"bool\"", Type::Bool),
        ("\"dynamic\"", Type::Dynamic),
        ("[\"list\",\"string\"]", Type::list(Type::String)),
        ("[\"set\",[\"map\",\"number\"]]", Type::set(Type::map(Type::Number))),
        ("[\"object\",{\"a\":\"string\",\"b\":[\"list\",\"bool\"]}]", obj(&[("b", Type::list(Type::Bool)), ("a", Type::String)])),
        ("[\"object\",{}]", obj(&[])),
        ("[\"tuple\",[\"string\",\"number\"]]", Type::tuple([Type::String, Type::Number])),
    ];
    for (text, ty) in cases {
        assert_eq!(ty.to_json_string(), *text);
        assert_eq!(serde_json::to_string(&ty.to_json()).unwrap(), *text);
        assert_eq!(&Type::from_json_bytes(text.as_bytes()).unwrap(), ty);
    }
    // Optional-attribute markers (newer go-cty) are accepted and dropped.
    assert_eq!(
        Type::from_json_bytes(br#"["object",{"a":"string","b":"number"},["b"]]"#).unwrap(),
        obj(&[("a", Type::String), ("b", Type::Number)])
    );
    for bad in [
        &br#""strin""#[..],
        br#"["list"]"#,
        br#"["list","string","x"]"#,
        br#"["object",["a"]]"#,
        br#"["object",{"a":"string"},["zz"]]"#,
        br#"["tuple","string"]"#,
        br#"["capsule","x"]"#,
        br#"42"#,
        br#"["list","string"] x"#,
    ] {
        assert!(Type::from_json_bytes(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
    let deep = format!("{}\"string\"{}", "[\"list\",".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
    assert!(Type::from_json_bytes(deep.as_bytes()).is_err());
}

#[test]
fn json_decodes_stored_state_leniently() {
    let ty = obj(&[("id", Type::String), ("weight", Type::Number), ("enabled", Type::Bool), ("tags", Type::map(Type::String))]);
    // Missing attributes read as null.
    let v = json::decode(br#"{"id":"abc"}"#, &ty).unwrap();
    assert_eq!(v, Value::object([("id", s("abc")), ("weight", Value::Null), ("enabled", Value::Null), ("tags", Value::Null)]));
    // Attributes a newer schema dropped: rejected by default (as go-cty), skipped on request.
    let old_state = br#"{"id":"abc","legacy":1}"#;
    assert_eq!(json::decode(old_state, &ty).unwrap_err().to_string(), "unsupported attribute \"legacy\"");
    let v = json::decode_with(old_state, &ty, json::DecodeOptions { ignore_undefined_attributes: true }).unwrap();
    assert_eq!(v.get_attr("id"), Some(&s("abc")));
    // go-cty's primitive conversions.
    let v = json::decode(br#"{"id":12,"weight":"0.25","enabled":"1","tags":{"a":true}}"#, &ty).unwrap();
    assert_eq!(v.get_attr("id"), Some(&s("12")));
    assert_eq!(v.get_attr("weight"), Some(&num("0.25")));
    assert_eq!(v.get_attr("enabled"), Some(&Value::Bool(true)));
    assert_eq!(v.get_attr("tags").and_then(|t| t.get_key("a")), Some(&s("true")));
    // Precision is kept.
    for text in ["12345678901234567890123", "1e400", "0.1", "-0.000000000000000000000000001", "18446744073709551615"] {
        let v = json::decode(text.as_bytes(), &Type::Number).unwrap();
        assert_eq!(v, num(text), "{text}");
        assert_eq!(json::decode(&json::encode(&v, &Type::Number).unwrap(), &Type::Number).unwrap(), v);
    }
    assert_eq!(json::encode(&num("12345678901234567890123"), &Type::Number).unwrap(), b"12345678901234567890123");
    // Errors name the path.
    let err = json::decode(br#"{"tags":{"a":[1]}}"#, &ty).unwrap_err();
    assert_eq!(err.to_string(), ".tags[\"a\"]: string is required");
    let err = json::decode(br#"[1,2,"x"]"#, &Type::list(Type::Number)).unwrap_err();
    assert!(err.to_string().starts_with("[2]: number is required"), "{err}");
    assert!(json::decode(br#"{"id":"a"} x"#, &ty).is_err());
    assert!(json::decode(br#"[1]"#, &Type::tuple([Type::Number, Type::Number])).unwrap_err().to_string().contains("length 2"));
}

#[test]
fn json_dynamic_and_encoding() {
    let d = Type::Dynamic;
    assert_eq!(json::encode(&s("hello"), &d).unwrap(), br#"{"value":"hello","type":"string"}"#);
    assert_eq!(json::encode(&Value::Null, &d).unwrap(), b"null");
    assert_eq!(json::decode(br#"{"type":["list","number"],"value":[1,2]}"#, &d).unwrap(), Value::list([num("1"), num("2")]));
    assert_eq!(json::decode(br#"null"#, &d).unwrap(), Value::Null);
    assert!(json::decode(br#"{"value":1}"#, &d).unwrap_err().to_string().contains("missing type"));
    assert!(json::decode(br#"{"type":"number"}"#, &d).unwrap_err().to_string().contains("missing value"));
    assert!(json::decode(br#"{"type":"number","value":1,"x":2}"#, &d).unwrap_err().to_string().contains("invalid key"));

    let ty = obj(&[("b", Type::list(Type::Number)), ("a", Type::String), ("m", Type::map(Type::Bool))]);
    let v = Value::object([
        ("a", s("x\"y\n")),
        ("b", Value::list([num("1"), num("0.5")])),
        ("m", Value::map([("z", Value::Bool(true)), ("k", Value::Null)])),
    ]);
    assert_eq!(String::from_utf8(json::encode(&v, &ty).unwrap()).unwrap(), r#"{"a":"x\"y\n","b":[1,0.5],"m":{"k":null,"z":true}}"#);
    // Unknowns cannot be stored.
    let err = json::encode(&Value::object([("a", Value::Unknown), ("b", Value::Null), ("m", Value::Null)]), &ty).unwrap_err();
    assert_eq!(err.to_string(), ".a: value is not known");
    // Infinity becomes a string, which go-cty reads back as a number.
    assert_eq!(json::encode(&num("-Inf"), &Type::Number).unwrap(), br#""-Inf""#);
    assert_eq!(json::decode(br#""-Inf""#, &Type::Number).unwrap(), num("-Inf"));
}

#[test]
fn value_helpers() {
    let v = Value::object([("a", Value::list([s("x"), Value::Unknown])), ("b", Value::from(Some(3i64))), ("c", Value::from(None::<bool>))]);
    assert!(!v.is_known());
    assert!(Value::object([("a", Value::Null)]).is_known());
    assert_eq!(v.get_attr("b").and_then(Value::as_i64), Some(3));
    assert!(v.get_attr("c").is_some_and(Value::is_null));
    assert_eq!(v.get_attr("a").and_then(Value::as_elements).map(<[Value]>::len), Some(2));
    assert_eq!(Value::from("s").as_str(), Some("s"));
    assert_eq!(Value::from(true).as_bool(), Some(true));
    // Sets ignore order; lists do not; numbers compare numerically.
    assert_eq!(Value::set([s("a"), s("b")]), Value::set([s("b"), s("a")]));
    assert_ne!(Value::set([s("a"), s("a")]), Value::set([s("a"), s("b")]));
    assert_ne!(Value::list([s("a"), s("b")]), Value::list([s("b"), s("a")]));
    assert_eq!(num("1.0"), Value::number(1i64));
    assert_ne!(Value::list([]), Value::set([]));
    assert_ne!(Value::Null, Value::Unknown);
    // Implied types.
    assert_eq!(Value::list([]).implied_type(), Some(Type::list(Type::Dynamic)));
    assert_eq!(
        Value::map([("a", Value::tuple([num("1"), Value::Null])), ("b", Value::tuple([Value::Unknown, s("x")]))]).implied_type(),
        Some(Type::map(Type::tuple([Type::Number, Type::String])))
    );
    let mut m = BTreeMap::new();
    m.insert("k".to_string(), Value::Null);
    assert_eq!(Value::Object(m).implied_type(), Some(obj(&[("k", Type::Dynamic)])));
    assert_eq!(Path(vec![PathStep::Attr("a".into()), PathStep::Index(2), PathStep::Key("x\"y".into())]).to_string(), ".a[2][\"x\\\"y\"]");
}

#[test]
fn malformed_input_errors_say_what_is_wrong() {
    // msgpack, read through rmp: a short payload, an empty input, a wrong marker.
    assert_eq!(decode_err(&hex("a5616263"), &Type::String), "msgpack data truncated: 5 bytes needed, 3 left");
    assert!(decode_err(&hex("cd00"), &Type::Number).contains("truncated"));
    assert!(decode_err(&hex("d5"), &Type::String).contains("truncated"));
    assert_eq!(decode_err(&[], &Type::Bool), "unexpected end of msgpack data");
    assert_eq!(decode_err(&hex("91c3"), &obj(&[("a", Type::Bool)])), "an object is required");
    // uint64 beyond i64 is carried exactly (as decimal text on the way back), never wrapped.
    let big = msgpack::decode(&hex("cfffffffffffffffff"), &Type::Number).unwrap();
    assert_eq!(big.as_i64(), None);
    assert_eq!(big.as_number().map(ToString::to_string).as_deref(), Some("18446744073709551615"));
    // JSON, read through serde_json: the parser's message, at the root.
    // (The cases the hand-written reader was tested with.)
    for bad in [
        &b"{\"a\":}"[..],
        b"",
        b"01",
        b"1.",
        b".5",
        b"-",
        b"+1",
        b"[1,]",
        b"{\"a\"}",
        b"{a:1}",
        b"\"\x01\"",
        b"\"abc",
        b"nul",
        b"[1] 2",
        b"\"\\x\"",
        b"\xff",
        b"1e",
        b"NaN",
    ] {
        let err = json::decode(bad, &Type::Dynamic).unwrap_err();
        assert!(err.path.is_root() && (err.message.starts_with("invalid JSON") || err.message.contains("UTF-8")), "{err}");
    }
    // The whole document is checked, also inside attributes the decoder skips.
    let lenient = json::DecodeOptions { ignore_undefined_attributes: true };
    assert!(json::decode_with(br#"{"a":"x","legacy":[1,{"b":tru}]}"#, &obj(&[("a", Type::String)]), lenient).is_err());
    assert!(json::decode_with(br#"{"a":"x","legacy":[1,{"b":true}]}"#, &obj(&[("a", Type::String)]), lenient).is_ok());
    // Number text reaches the decoder as written, whatever its size.
    let v = json::decode(br#" [1, -0.5e+3, 12345678901234567890123] "#, &Type::list(Type::Number)).unwrap();
    assert_eq!(v, Value::list([num("1"), num("-500"), num("12345678901234567890123")]));
}
