//! `#[derive(Ids)]`: implements `hearth_wire::ids::Ids` for a struct or an enum by visiting
//! **every** field. A field's type must itself implement `Ids` (or, with `#[ids(text)]`,
//! `TextIds`), so adding a field of a type nobody has classified fails to compile until
//! someone decides how it is translated between two servers' id spaces
//! (spec/federation.md §13).
//!
//! Attributes:
//! - `#[ids(skip = "reason")]` on a field: the field holds no id of the payload's server; the
//!   reason is required and says why (it is the review record of that decision).
//! - `#[ids(text)]` on a field: message text whose mentions (`<@id>`, `<@!id>`, `<@&id>`,
//!   `<#id>`) are ids (the field's type implements `TextIds`: `String`, `Option`, `Vec`).
//! - `#[ids(user)]` on a struct with named fields: the struct is a user object, matched by
//!   its handle (`IdVisitor::user`, which rewrites its `id`); it must implement
//!   `UserObject` and have a field `id`. Its other fields are visited as usual.
//!
//! The generated code names the trait as `::hearth_wire::ids`, so the crate that uses the
//! derive depends on `hearth-wire` (which itself declares `extern crate self as hearth_wire`).

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{
    Data, DeriveInput, Error, Field, Fields, GenericParam, LitStr, Result, parse_macro_input,
    parse_quote,
};

/// Derives `hearth_wire::ids::Ids` (see the crate documentation for the attributes).
#[proc_macro_derive(Ids, attributes(ids))]
pub fn derive_ids(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(input)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

/// How one field is visited.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// `Ids::visit_ids` (the default).
    Visit,
    /// `TextIds::visit_text` (`#[ids(text)]`).
    Text,
    /// Not visited (`#[ids(skip = "reason")]`).
    Skip,
}

fn field_mode(f: &Field) -> Result<Mode> {
    let mut mode = None;
    for attr in f.attrs.iter().filter(|a| a.path().is_ident("ids")) {
        attr.parse_nested_meta(|meta| {
            let m = if meta.path.is_ident("skip") {
                let reason: LitStr = meta
                    .value()
                    .map_err(|_| {
                        meta.error(
                            "`skip` needs a reason: #[ids(skip = \"why no id can be in this field\")]",
                        )
                    })?
                    .parse()?;
                if reason.value().trim().is_empty() {
                    return Err(Error::new(
                        reason.span(),
                        "the reason of #[ids(skip = ...)] must not be empty",
                    ));
                }
                Mode::Skip
            } else if meta.path.is_ident("text") {
                Mode::Text
            } else if meta.path.is_ident("user") {
                return Err(meta.error("#[ids(user)] belongs on the user type itself, not on a field"));
            } else {
                return Err(meta.error(
                    "unknown ids attribute: expected #[ids(skip = \"reason\")] or #[ids(text)]",
                ));
            };
            if mode.replace(m).is_some() {
                return Err(meta.error("one ids attribute per field"));
            }
            Ok(())
        })?;
    }
    Ok(mode.unwrap_or(Mode::Visit))
}

/// Whether the container carries `#[ids(user)]`.
fn container_is_user(input: &DeriveInput) -> Result<bool> {
    let mut user = false;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("ids")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("user") {
                user = true;
                Ok(())
            } else {
                Err(meta.error("unknown ids attribute on a type: expected #[ids(user)]"))
            }
        })?;
    }
    Ok(user)
}

/// The statement visiting one field reachable through `access` (an expression of type
/// `&mut FieldType`).
fn visit_field(f: &Field, access: Tokens) -> Result<Tokens> {
    let ty = &f.ty;
    Ok(match field_mode(f)? {
        Mode::Visit => quote! {
            <#ty as ::hearth_wire::ids::Ids>::visit_ids(#access, __visitor);
        },
        Mode::Text => quote! {
            <#ty as ::hearth_wire::ids::TextIds>::visit_text(#access, __visitor);
        },
        Mode::Skip => quote! {},
    })
}

fn expand(mut input: DeriveInput) -> Result<Tokens> {
    let user = container_is_user(&input)?;
    let body = match &input.data {
        Data::Struct(s) => {
            let mut stmts = vec![];
            if user {
                let Fields::Named(named) = &s.fields else {
                    return Err(Error::new(
                        input.ident.span(),
                        "#[ids(user)] needs a struct with named fields",
                    ));
                };
                if !named
                    .named
                    .iter()
                    .any(|f| f.ident.as_ref().is_some_and(|i| i == "id"))
                {
                    return Err(Error::new(
                        input.ident.span(),
                        "#[ids(user)] needs a field `id` (the user's id, rewritten by handle)",
                    ));
                }
                stmts.push(quote! {
                    ::hearth_wire::ids::IdVisitor::user(__visitor, self);
                });
            }
            for (i, f) in s.fields.iter().enumerate() {
                // A user's own id is the visitor's business (matched by handle).
                if user && f.ident.as_ref().is_some_and(|id| id == "id") {
                    if field_mode(f)? != Mode::Visit {
                        return Err(Error::new(
                            f.span(),
                            "the `id` of a #[ids(user)] type is rewritten by handle; it takes no ids attribute",
                        ));
                    }
                    continue;
                }
                let member = match &f.ident {
                    Some(name) => quote!(#name),
                    None => {
                        let idx = syn::Index::from(i);
                        quote!(#idx)
                    }
                };
                stmts.push(visit_field(f, quote!(&mut self.#member))?);
            }
            quote! { #(#stmts)* }
        }
        Data::Enum(e) => {
            if user {
                return Err(Error::new(
                    input.ident.span(),
                    "#[ids(user)] applies to structs only",
                ));
            }
            let mut arms = vec![];
            for v in &e.variants {
                let name = &v.ident;
                match &v.fields {
                    Fields::Unit => arms.push(quote! { Self::#name => {} }),
                    Fields::Unnamed(fields) => {
                        let binds: Vec<_> = (0..fields.unnamed.len())
                            .map(|i| format_ident!("__f{}", i))
                            .collect();
                        let mut stmts = vec![];
                        for (f, b) in fields.unnamed.iter().zip(&binds) {
                            stmts.push(visit_field(f, quote!(#b))?);
                        }
                        arms.push(quote! { Self::#name(#(#binds),*) => { #(#stmts)* } });
                    }
                    Fields::Named(fields) => {
                        let binds: Vec<_> = fields
                            .named
                            .iter()
                            .map(|f| f.ident.clone().expect("named field"))
                            .collect();
                        let mut stmts = vec![];
                        for (f, b) in fields.named.iter().zip(&binds) {
                            stmts.push(visit_field(f, quote!(#b))?);
                        }
                        arms.push(quote! { Self::#name { #(#binds),* } => { #(#stmts)* } });
                    }
                }
            }
            if arms.is_empty() {
                quote! { match *self {} }
            } else {
                quote! { match self { #(#arms)* } }
            }
        }
        Data::Union(u) => {
            return Err(Error::new(
                u.union_token.span(),
                "Ids cannot be derived for unions",
            ));
        }
    };
    // Every type parameter must be visitable itself.
    for p in input.generics.params.iter_mut() {
        if let GenericParam::Type(t) = p {
            t.bounds.push(parse_quote!(::hearth_wire::ids::Ids));
        }
    }
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::hearth_wire::ids::Ids for #name #ty_generics #where_clause {
            #[allow(unused_variables)]
            fn visit_ids(&mut self, __visitor: &mut dyn ::hearth_wire::ids::IdVisitor) {
                #body
            }
        }
    })
}
