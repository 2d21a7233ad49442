//! Which product a Google Ads lead is about (issue 17): a configurable map
//! from the ad's form, ad group or campaign id to a product description,
//! reference and price, applied when the C2S lead is created — so ad leads
//! stop arriving as "Não identificado". The most specific id wins: a form's
//! entry over its ad group's, an ad group's over its campaign's.

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde::Deserialize;

/// A product as C2S receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub description: String,
    /// The property's reference (`prop_ref`).
    pub reference: Option<String>,
    /// Price in R$.
    pub price: Option<Decimal>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    #[serde(default)]
    campaign_id: Option<String>,
    #[serde(default)]
    adgroup_id: Option<String>,
    #[serde(default)]
    form_id: Option<String>,
    description: String,
    #[serde(default)]
    reference: Option<String>,
    /// Whole or decimal R$, as text (`"12500000"`, `"1250000.50"`).
    #[serde(default)]
    price: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    products: Vec<Entry>,
}

/// Which id an entry is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Form,
    AdGroup,
    Campaign,
}

/// The map, checked.
#[derive(Debug, Clone, Default)]
pub struct ProductMap {
    by: HashMap<(Key, String), Product>,
}

/// The ids of an ad lead.
#[derive(Debug, Clone, Copy, Default)]
pub struct AdIds<'a> {
    pub campaign_id: Option<&'a str>,
    pub adgroup_id: Option<&'a str>,
    pub form_id: Option<&'a str>,
}

impl ProductMap {
    /// Reads `[[products]]` entries (docs/runbook.md, "Google Ads products").
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut by = HashMap::new();
        for (i, e) in file.products.into_iter().enumerate() {
            let n = i + 1;
            let keys: Vec<(Key, String)> = [
                (Key::Form, e.form_id),
                (Key::AdGroup, e.adgroup_id),
                (Key::Campaign, e.campaign_id),
            ]
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?.trim().to_owned())).filter(|(_, v)| !v.is_empty()))
            .collect();
            let [key] = <[_; 1]>::try_from(keys).map_err(|_| {
                format!("product {n}: give exactly one of form_id, adgroup_id, campaign_id")
            })?;
            let description = e.description.trim().to_owned();
            if description.is_empty() || description.chars().count() > 200 {
                return Err(format!("product {n}: a description of 1 to 200 characters"));
            }
            let price = match e.price.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(p) => Some(
                    p.parse::<Decimal>()
                        .ok()
                        .filter(|d| *d >= Decimal::ZERO)
                        .ok_or_else(|| {
                            format!("product {n}: price {p:?} is not an amount in R$")
                        })?,
                ),
            };
            let product = Product {
                description,
                reference: e
                    .reference
                    .map(|r| r.trim().to_owned())
                    .filter(|r| !r.is_empty()),
                price,
            };
            if by.insert(key.clone(), product).is_some() {
                return Err(format!(
                    "product {n}: {:?} {} is mapped twice",
                    key.0, key.1
                ));
            }
        }
        Ok(Self { by })
    }

    /// The product for an ad lead's ids, the most specific first.
    pub fn find(&self, ids: AdIds<'_>) -> Option<&Product> {
        [
            (Key::Form, ids.form_id),
            (Key::AdGroup, ids.adgroup_id),
            (Key::Campaign, ids.campaign_id),
        ]
        .into_iter()
        .find_map(|(k, id)| self.by.get(&(k, id?.trim().to_owned())))
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.by.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = r#"
[[products]]
campaign_id = "500"
description = "Lançamentos Jardins"

[[products]]
adgroup_id = "600"
description = "Cobertura Jardim Europa"
reference = "MB-1234"
price = "12500000"

[[products]]
form_id = "700"
description = "Casa Cidade Jardim"
price = "9800000.50"
"#;

    #[test]
    fn the_most_specific_id_wins() {
        let m = ProductMap::parse(MAP).expect("map");
        let ids = |c, a, f| AdIds {
            campaign_id: c,
            adgroup_id: a,
            form_id: f,
        };
        let d = |p: Option<&Product>| p.map(|p| p.description.clone());
        assert_eq!(
            d(m.find(ids(Some("500"), None, None))).as_deref(),
            Some("Lançamentos Jardins")
        );
        let p = m
            .find(ids(Some("500"), Some("600"), None))
            .expect("ad group");
        assert_eq!(p.reference.as_deref(), Some("MB-1234"));
        assert_eq!(p.price, Some(Decimal::new(12_500_000, 0)));
        assert_eq!(
            d(m.find(ids(Some("500"), Some("600"), Some("700")))).as_deref(),
            Some("Casa Cidade Jardim")
        );
        assert!(m.find(ids(Some("999"), None, None)).is_none());
        assert!(m.find(AdIds::default()).is_none());
    }

    #[test]
    fn bad_maps_are_refused_with_the_entry() {
        for (text, expected) in [
            ("[[products]]\ndescription = \"x\"\n", "exactly one"),
            ("[[products]]\ncampaign_id = \"1\"\nform_id = \"2\"\ndescription = \"x\"\n", "exactly one"),
            ("[[products]]\ncampaign_id = \"1\"\ndescription = \" \"\n", "description"),
            ("[[products]]\ncampaign_id = \"1\"\ndescription = \"x\"\nprice = \"caro\"\n", "not an amount"),
            ("[[products]]\ncampaign_id = \"1\"\ndescription = \"x\"\n[[products]]\ncampaign_id = \"1\"\ndescription = \"y\"\n", "twice"),
            ("[[products]]\ncampaign_id = \"1\"\ndescription = \"x\"\ncolour = 1\n", "unknown field"),
        ] {
            let err = ProductMap::parse(text).expect_err(expected);
            assert!(err.contains(expected), "{expected:?} not in {err:?}");
        }
    }
}
