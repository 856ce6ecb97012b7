//! The two macros that declare protojson messages and enums with hand-written
//! serde impls: every field optional, unknown keys kept in place.
//!
//! Why not `#[derive(Deserialize)]` with `#[serde(flatten)]` for the unknown
//! keys: flatten cannot tell "absent" from an explicit `null` for a typed
//! field (both become `None`, so the `null` would be lost on the way back
//! out), and a repeated unknown key silently overwrites the first. Speed was
//! measured and is not the reason: on the process objects of the bench
//! file, a derived struct with flatten parsed at about 420 MB/s against
//! about 445 MB/s here, while this code also parses timestamps and keeps the
//! form of each integer. The visitor generated here matches keys directly,
//! borrows them from the input when it can, and only builds a
//! `serde_json::Value` for keys it does not know.

/// The `Visitor` methods for every JSON value that is not an object: each
/// one consumes what it was given and returns `$found(description)`, where
/// the description is "an array", "a boolean", "a number", "a string" or
/// "null". Used inside `impl Visitor for ...` blocks that only accept maps.
macro_rules! visit_non_objects {
    ($found:expr) => {
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok($found("an array"))
        }

        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($found("a boolean"))
        }

        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($found("a number"))
        }

        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($found("a number"))
        }

        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($found("a number"))
        }

        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($found("a string"))
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok($found("null"))
        }
    };
}

/// Declares a protojson message: a struct whose fields are all `Option`s
/// (present in the JSON or not), plus `unknown_fields` for keys this crate
/// does not know. Serialises known fields in declaration order (which is the
/// proto declaration order, so Tetragon's order), then the unknown ones.
///
/// A known key given as JSON `null` is kept in `unknown_fields` as `null` so
/// that it is written back unchanged; if the typed field is set later, the
/// typed value wins and the `null` is not written.
macro_rules! proto_message {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                $field:ident : $ty:ty = $json:literal
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name {
            $(
                $(#[$field_meta])*
                #[doc = concat!("\n\nJSON key: `", $json, "`.")]
                pub $field: Option<$ty>,
            )*
            /// Keys this crate does not know (or known keys given as `null`),
            /// kept verbatim and written back after the known fields.
            pub unknown_fields: $crate::value::UnknownFields,
        }

        impl $name {
            /// The JSON keys of the typed fields, in Tetragon's order.
            pub const KNOWN_KEYS: &'static [&'static str] = &[$($json),*];

            fn typed_field_is_set(&self, key: &str) -> bool {
                match key {
                    $($json => self.$field.is_some(),)*
                    _ => false,
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap as _;
                let mut map = serializer.serialize_map(None)?;
                $(
                    if let Some(value) = &self.$field {
                        map.serialize_entry($json, value)?;
                    }
                )*
                self.unknown_fields
                    .serialize_entries(&mut map, |key| self.typed_field_is_set(key))?;
                map.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct MessageVisitor;

                impl<'de> serde::de::Visitor<'de> for MessageVisitor {
                    type Value = $name;

                    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        formatter.write_str(concat!("a `", stringify!($name), "` object"))
                    }

                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$name, A::Error> {
                        let mut message = $name::default();
                        while let Some(key) = map.next_key::<$crate::value::JsonStr<'de>>()? {
                            match key.as_str() {
                                $(
                                    $json => {
                                        if message.$field.is_some() {
                                            return Err(<A::Error as serde::de::Error>::duplicate_field($json));
                                        }
                                        match map.next_value::<Option<$ty>>()? {
                                            Some(value) => message.$field = Some(value),
                                            None => message
                                                .unknown_fields
                                                .insert_unique::<A::Error>(key.into_string(), serde_json::Value::Null)?,
                                        }
                                    }
                                )*
                                _ => {
                                    let value: serde_json::Value = map.next_value()?;
                                    message.unknown_fields.insert_unique::<A::Error>(key.into_string(), value)?;
                                }
                            }
                        }
                        Ok(message)
                    }
                }

                deserializer.deserialize_map(MessageVisitor)
            }

            /// Reads into a message read before (see `value::ReadInto`):
            /// the same checks and errors as `deserialize`, in the same
            /// order, but fields keep their allocations.
            fn deserialize_in_place<D: serde::Deserializer<'de>>(
                deserializer: D,
                place: &mut Self,
            ) -> Result<(), D::Error> {
                struct InPlaceVisitor<'a>(&'a mut $name);

                impl<'de> serde::de::Visitor<'de> for InPlaceVisitor<'_> {
                    type Value = ();

                    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        formatter.write_str(concat!("a `", stringify!($name), "` object"))
                    }

                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<(), A::Error> {
                        /// The typed fields given a value in this read.
                        #[derive(Default)]
                        struct Set {
                            $($field: bool,)*
                        }
                        let message = self.0;
                        let mut set = Set::default();
                        message.unknown_fields = $crate::value::UnknownFields::new();
                        while let Some(key) = map.next_key::<$crate::value::JsonStr<'de>>()? {
                            match key.as_str() {
                                $(
                                    $json => {
                                        if set.$field {
                                            return Err(<A::Error as serde::de::Error>::duplicate_field($json));
                                        }
                                        if map.next_value_seed($crate::value::OptionInto(&mut message.$field))? {
                                            set.$field = true;
                                        } else {
                                            message.$field = None;
                                            message
                                                .unknown_fields
                                                .insert_unique::<A::Error>(key.into_string(), serde_json::Value::Null)?;
                                        }
                                    }
                                )*
                                _ => {
                                    let value: serde_json::Value = map.next_value()?;
                                    message.unknown_fields.insert_unique::<A::Error>(key.into_string(), value)?;
                                }
                            }
                        }
                        $(
                            if !set.$field {
                                message.$field = None;
                            }
                        )*
                        Ok(())
                    }
                }

                deserializer.deserialize_map(InPlaceVisitor(place))
            }
        }

        impl<'de> $crate::value::ReadInto<'de> for $name {
            fn read_into<D: serde::Deserializer<'de>>(deserializer: D, place: &mut Self) -> Result<(), D::Error> {
                <Self as serde::Deserialize<'de>>::deserialize_in_place(deserializer, place)
            }
        }

        impl<'de> $crate::value::ReadInto<'de> for Box<$name> {
            fn read_into<D: serde::Deserializer<'de>>(deserializer: D, place: &mut Self) -> Result<(), D::Error> {
                <$name as serde::Deserialize<'de>>::deserialize_in_place(deserializer, &mut **place)
            }
        }
    };
}

/// Declares a protojson enum: known names as variants, plus `Other(String)`
/// for a name this crate does not know and `Numeric(i32)` for a value given
/// as a number (protojson accepts both on input). Either way the value is
/// written back exactly as it was read.
macro_rules! proto_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident = ($json:literal, $number:literal)
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $(
                $(#[$variant_meta])*
                #[doc = concat!("`", $json, "` (", stringify!($number), ").")]
                $variant,
            )*
            /// A name this crate does not know, kept verbatim.
            Other(String),
            /// A value given as a JSON number rather than its name, kept as a
            /// number; [`Self::resolved`] maps it to a named variant.
            Numeric(i32),
        }

        impl $name {
            /// Every named variant, in proto order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The variant for a protojson name; unknown names become `Other`.
            pub fn from_name(name: &str) -> Self {
                match name {
                    $($json => $name::$variant,)*
                    other => $name::Other(other.to_owned()),
                }
            }

            /// The named variant for a proto number, if the number is known.
            pub fn from_number(number: i32) -> Option<Self> {
                match number {
                    $($number => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// The protojson name (`None` for an unknown number).
            pub fn name(&self) -> Option<&str> {
                match self {
                    $($name::$variant => Some($json),)*
                    $name::Other(name) => Some(name),
                    $name::Numeric(number) => Self::from_number(*number).and_then(|known| known.static_name()),
                }
            }

            /// The proto number (`None` for an unknown name).
            pub fn number(&self) -> Option<i32> {
                match self {
                    $($name::$variant => Some($number),)*
                    $name::Other(_) => None,
                    $name::Numeric(number) => Some(*number),
                }
            }

            /// The same value with `Numeric(n)` replaced by its named variant
            /// when `n` is known (what the simulator compares against).
            pub fn resolved(&self) -> Self {
                match self {
                    $name::Numeric(number) => Self::from_number(*number).unwrap_or($name::Numeric(*number)),
                    other => other.clone(),
                }
            }

            fn static_name(&self) -> Option<&'static str> {
                match self {
                    $($name::$variant => Some($json),)*
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match (self.name(), self) {
                    (Some(name), _) => formatter.write_str(name),
                    (None, $name::Numeric(number)) => write!(formatter, "{number}"),
                    (None, _) => formatter.write_str("?"),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $($name::$variant => serializer.serialize_str($json),)*
                    $name::Other(name) => serializer.serialize_str(name),
                    $name::Numeric(number) => serializer.serialize_i32(*number),
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct EnumVisitor;

                impl serde::de::Visitor<'_> for EnumVisitor {
                    type Value = $name;

                    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        formatter.write_str(concat!("a `", stringify!($name), "` name or number"))
                    }

                    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<$name, E> {
                        Ok($name::from_name(name))
                    }

                    fn visit_i64<E: serde::de::Error>(self, number: i64) -> Result<$name, E> {
                        i32::try_from(number)
                            .map($name::Numeric)
                            .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(number), &self))
                    }

                    fn visit_u64<E: serde::de::Error>(self, number: u64) -> Result<$name, E> {
                        i32::try_from(number)
                            .map($name::Numeric)
                            .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(number), &self))
                    }
                }

                deserializer.deserialize_any(EnumVisitor)
            }
        }

        impl<'de> $crate::value::ReadInto<'de> for $name {}
    };
}
