//! The C2S lead shape — `{"id", "internal_id", "attributes": {"customer",
//! "seller", "product", "lead_source", "lead_status", …}}`, the `data` of
//! `GET /integration/leads/{id}` and the lead of every webhook delivery: its
//! private DTO, read tolerantly (`providers::lenient`: every attribute may be
//! null, empty, missing, a number or in another case), and its reading into
//! the domain's [`Lead`].

use serde::Deserialize;
use serde_json::Value;

use crate::domain::lead::{Lead, LeadError, LeadId};
use crate::providers::lenient::{read, Section, Text};

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct LeadDto {
    id: Text,
    internal_id: Text,
    attributes: Section<Attributes>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct Attributes {
    customer: Section<Customer>,
    seller: Section<Seller>,
    product: Section<Product>,
    lead_source: Section<Named>,
    lead_status: Section<Status>,
    description: Text,
    created_at: Text,
    updated_at: Text,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct Customer {
    name: Text,
    phone: Text,
    phone2: Text,
    phone_global: Text,
    email: Text,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct Seller {
    id: Text,
    name: Text,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct Product {
    description: Text,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct Named {
    name: Text,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct Status {
    alias: Text,
}

/// Reads a lead object. The customer's phone is `phone`, else `phone2`, else
/// `phone_global`; every non-empty one is kept, in that order, for fallbacks.
pub fn read_lead(obj: &Value) -> Result<Lead, LeadError> {
    let dto: LeadDto = read(obj).ok_or(LeadError::NotAnObject)?;
    let id = dto.id.get().ok_or(LeadError::MissingId)?;
    let id = LeadId::parse(&id)?;
    let attrs = dto.attributes.or_empty();
    let customer = attrs.customer.or_empty();
    let seller = attrs.seller.or_empty();
    let phones: Vec<String> = [&customer.phone, &customer.phone2, &customer.phone_global]
        .iter()
        .filter_map(|t| t.get())
        .collect();
    Ok(Lead {
        id,
        internal_id: dto.internal_id.get(),
        customer_name: customer.name.get(),
        phone: phones.first().cloned(),
        phones,
        email: customer.email.get(),
        seller_id: seller.id.get(),
        seller_name: seller.name.get(),
        product: attrs.product.or_empty().description.get(),
        source: attrs.lead_source.or_empty().name.get(),
        status: attrs.lead_status.or_empty().alias.get(),
        description: attrs.description.get(),
        created_at: attrs.created_at.get(),
        updated_at: attrs.updated_at.get(),
    })
}
