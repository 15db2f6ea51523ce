//! Which domain a client looks up (behavior.md §8): the registration host when calls are
//! routed via the registrar, else the link's host, else the configured `serverAddress`,
//! else the domain part of the dialled alias.

/// Where the chosen domain came from, so a report can say why it was looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainSource {
    /// The registration host (registered, "route calls via registrar" on).
    RegistrationHost,
    /// The `host` parameter of the link.
    LinkHost,
    /// The client's configured `serverAddress`.
    ServerAddress,
    /// The part after `@` of the dialled alias.
    AliasDomain,
}

/// The domain to look up `_pexapp._tcp.<domain>` for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupDomain {
    /// Lower case, without a final dot or surrounding blanks.
    pub domain: String,
    /// Which input gave it.
    pub source: DomainSource,
}

/// The inputs of [`choose_domain`]; empty strings count as absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct DomainInputs<'a> {
    /// The host the client is registered to, if registered.
    pub registration_host: Option<&'a str>,
    /// Whether the node told the registered client to route every call via it.
    pub route_via_registrar: bool,
    /// The `host` of the link that started the call.
    pub link_host: Option<&'a str>,
    /// The client's configured `serverAddress`.
    pub server_address: Option<&'a str>,
    /// The dialled alias, e.g. `meet.alice@example.com`.
    pub alias: &'a str,
}

/// Chooses the domain to look up, in the order of behavior.md §8. `None` when nothing
/// names one (no host given and the alias has no `@domain`).
pub fn choose_domain(inputs: DomainInputs<'_>) -> Option<LookupDomain> {
    let registrar = inputs
        .registration_host
        .filter(|_| inputs.route_via_registrar);
    let alias_domain = inputs.alias.rsplit_once('@').map(|(_, domain)| domain);
    [
        (registrar, DomainSource::RegistrationHost),
        (inputs.link_host, DomainSource::LinkHost),
        (inputs.server_address, DomainSource::ServerAddress),
        (alias_domain, DomainSource::AliasDomain),
    ]
    .into_iter()
    .find_map(|(candidate, source)| {
        let domain = normalize(candidate?);
        (!domain.is_empty()).then_some(LookupDomain { domain, source })
    })
}

fn normalize(domain: &str) -> String {
    domain.trim().trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(inputs: DomainInputs<'_>, expected: Option<(&str, DomainSource)>) {
        let got = choose_domain(inputs);
        let got = got.as_ref().map(|d| (d.domain.as_str(), d.source));
        assert_eq!(got, expected, "{inputs:?}");
    }

    #[test]
    fn the_domain_follows_the_order_of_the_spec() {
        use DomainSource::*;
        let all = DomainInputs {
            registration_host: Some("reg.example.com"),
            route_via_registrar: true,
            link_host: Some("link.example.com"),
            server_address: Some("server.example.com"),
            alias: "meet.alice@alias.example.com",
        };
        check(all, Some(("reg.example.com", RegistrationHost)));
        // registered, but calls are not routed via the registrar
        let not_routed = DomainInputs {
            route_via_registrar: false,
            ..all
        };
        check(not_routed, Some(("link.example.com", LinkHost)));
        let no_link = DomainInputs {
            link_host: None,
            ..not_routed
        };
        check(no_link, Some(("server.example.com", ServerAddress)));
        let no_server = DomainInputs {
            server_address: Some("  "),
            ..no_link
        };
        check(no_server, Some(("alias.example.com", AliasDomain)));
        check(
            DomainInputs {
                alias: "meet.alice",
                ..no_server
            },
            None,
        );
        // routing via the registrar without a registration host falls through
        check(
            DomainInputs {
                registration_host: None,
                route_via_registrar: true,
                alias: "Meet@Example.COM.",
                ..DomainInputs::default()
            },
            Some(("example.com", AliasDomain)),
        );
    }
}
