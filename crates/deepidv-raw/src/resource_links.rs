//! [`ResourceLinks`]: the retrieve response's links to uploaded files.

use std::{collections::HashMap, fmt};

use serde::{
    Deserialize, Serialize,
    de::{MapAccess, Visitor},
};

/// Presigned, short-lived URLs of a session's uploaded files, keyed by upload slot as the server
/// names them (`id_front`, `"Hold up 3 fingers"`, ...). Slots whose link is `null` are left out
/// while decoding, so the map holds only real links.
///
/// ```
/// use deepidv_raw::ResourceLinks;
/// let links: ResourceLinks = serde_json::from_str(r#"{"id_front":"https://s3.example/a","id_back":null}"#).unwrap();
/// assert_eq!(links.0.len(), 1);
/// assert_eq!(links.0["id_front"], "https://s3.example/a");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ResourceLinks(pub HashMap<String, String>);

impl<'de> Deserialize<'de> for ResourceLinks {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Links;

        impl<'de> Visitor<'de> for Links {
            type Value = ResourceLinks;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of upload slots to URLs")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut links = HashMap::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((slot, url)) = map.next_entry::<String, Option<String>>()? {
                    if let Some(url) = url {
                        links.insert(slot, url);
                    }
                }
                Ok(ResourceLinks(links))
            }
        }

        deserializer.deserialize_map(Links)
    }
}
