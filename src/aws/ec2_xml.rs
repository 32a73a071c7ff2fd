//! The EC2 Query API's XML answers, read into the probe's evidence types: one small typed reader
//! per operation the probe calls (route tables, managed prefix lists and their entries, VPC
//! endpoints, security groups, network ACLs), each returning one [`Page`] (its items and the
//! `nextToken`), and the error body (`<Response><Errors><Error><Code>…`, `<RequestID>`). Parsed
//! with the SDK's own small XML decoder (`aws-smithy-xml`); unknown elements are skipped, as the
//! SDK does, so a newer API answer still reads.

use aws_smithy_xml::decode::{Document, ScopedDecoder, try_data};

use crate::evidence::{
    EndpointEvidence, EndpointType, NetworkAclEntry, NetworkAclEvidence, RouteEvidence,
    SecurityGroupEvidence, SecurityGroupRule,
};

/// One page of a list answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// `nextToken`: more pages follow (absent or empty: this was the last).
    pub next_token: Option<String>,
}

/// A route table of DescribeRouteTables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTableItem {
    pub id: String,
    pub routes: Vec<RouteEvidence>,
}

/// A managed prefix list of DescribeManagedPrefixLists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixListItem {
    pub id: String,
    pub name: Option<String>,
}

/// An EC2 error answer: `<Response><Errors><Error><Code>…<Message>…</Error></Errors>
/// <RequestID>…</RequestID></Response>` (any of them may be missing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiError {
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
}

type Decoder<'inp, 'a> = ScopedDecoder<'inp, 'a>;

fn text(tag: &mut Decoder<'_, '_>) -> Result<String, String> {
    try_data(tag)
        .map(|c| c.trim().to_string())
        .map_err(|e| format!("<{}>: {e}", tag.start_el().local()))
}

fn int(tag: &mut Decoder<'_, '_>) -> Result<i32, String> {
    let t = text(tag)?;
    t.parse()
        .map_err(|_| format!("<{}>: not an integer: {t}", tag.start_el().local()))
}

fn boolean(tag: &mut Decoder<'_, '_>) -> Result<bool, String> {
    Ok(text(tag)?.eq_ignore_ascii_case("true"))
}

/// Each `<item>` of a list element, read by `f`.
fn items<T>(
    list: &mut Decoder<'_, '_>,
    f: &mut impl FnMut(&mut Decoder<'_, '_>) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    let mut out = Vec::new();
    while let Some(mut item) = list.next_tag() {
        if item.start_el().local() == "item" {
            out.push(f(&mut item)?);
        }
    }
    Ok(out)
}

/// `<item>text</item>` lists (ids).
fn strings(list: &mut Decoder<'_, '_>) -> Result<Vec<String>, String> {
    items(list, &mut text)
}

/// One page of an answer whose items are the `<item>`s of the root's child `list`.
fn page<T>(
    xml: &str,
    list: &str,
    mut f: impl FnMut(&mut Decoder<'_, '_>) -> Result<T, String>,
) -> Result<Page<T>, String> {
    let mut doc = Document::new(xml);
    let mut root = doc.root_element().map_err(|e| e.to_string())?;
    let mut page = Page {
        items: Vec::new(),
        next_token: None,
    };
    while let Some(mut tag) = root.next_tag() {
        let name = tag.start_el().local().to_string();
        if name == list {
            page.items.extend(items(&mut tag, &mut f)?);
        } else if name == "nextToken" {
            page.next_token = Some(text(&mut tag)?).filter(|t| !t.is_empty());
        }
    }
    Ok(page)
}

/// DescribeRouteTables (routes with no destination are left out).
pub fn route_tables(xml: &str) -> Result<Page<RouteTableItem>, String> {
    page(xml, "routeTableSet", |t| {
        let mut table = RouteTableItem {
            id: String::new(),
            routes: Vec::new(),
        };
        while let Some(mut f) = t.next_tag() {
            match f.start_el().local() {
                "routeTableId" => table.id = text(&mut f)?,
                "routeSet" => {
                    table.routes = items(&mut f, &mut route)?.into_iter().flatten().collect()
                }
                _ => {}
            }
        }
        Ok(table)
    })
}

/// Where a route goes: the first target the API names (as the SDK's order had it).
const ROUTE_TARGETS: &[&str] = &[
    "gatewayId",
    "natGatewayId",
    "transitGatewayId",
    "vpcPeeringConnectionId",
    "networkInterfaceId",
    "instanceId",
    "egressOnlyInternetGatewayId",
    "localGatewayId",
    "carrierGatewayId",
    "coreNetworkArn",
];

fn route(r: &mut Decoder<'_, '_>) -> Result<Option<RouteEvidence>, String> {
    let (mut v4, mut v6, mut pl, mut state) = (None, None, None, None);
    let mut targets: Vec<(usize, String)> = Vec::new();
    while let Some(mut f) = r.next_tag() {
        let name = f.start_el().local().to_string();
        match name.as_str() {
            "destinationCidrBlock" => v4 = Some(text(&mut f)?),
            "destinationIpv6CidrBlock" => v6 = Some(text(&mut f)?),
            "destinationPrefixListId" => pl = Some(text(&mut f)?),
            "state" => state = Some(text(&mut f)?),
            n => {
                if let Some(rank) = ROUTE_TARGETS.iter().position(|t| *t == n) {
                    targets.push((rank, text(&mut f)?));
                }
            }
        }
    }
    let Some(destination) = v4.or(v6).or(pl) else {
        return Ok(None);
    };
    targets.sort();
    Ok(Some(RouteEvidence {
        destination,
        target: targets
            .into_iter()
            .next()
            .map(|(_, t)| t)
            .unwrap_or_else(|| "unknown".into()),
        state: state
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_else(|| "active".into()),
    }))
}

/// DescribeManagedPrefixLists.
pub fn prefix_lists(xml: &str) -> Result<Page<PrefixListItem>, String> {
    page(xml, "prefixListSet", |p| {
        let mut item = PrefixListItem {
            id: String::new(),
            name: None,
        };
        while let Some(mut f) = p.next_tag() {
            match f.start_el().local() {
                "prefixListId" => item.id = text(&mut f)?,
                "prefixListName" => item.name = Some(text(&mut f)?),
                _ => {}
            }
        }
        Ok(item)
    })
}

/// GetManagedPrefixListEntries: the CIDRs.
pub fn prefix_list_entries(xml: &str) -> Result<Page<String>, String> {
    let page = page(xml, "entrySet", |e| {
        let mut cidr = None;
        while let Some(mut f) = e.next_tag() {
            if f.start_el().local() == "cidr" {
                cidr = Some(text(&mut f)?);
            }
        }
        Ok(cidr)
    })?;
    Ok(Page {
        items: page.items.into_iter().flatten().collect(),
        next_token: page.next_token,
    })
}

/// DescribeVpcEndpoints (an endpoint of a type this build does not know is left out: it is no
/// S3 path the probe can judge).
pub fn vpc_endpoints(xml: &str) -> Result<Page<EndpointEvidence>, String> {
    let page = page(xml, "vpcEndpointSet", |e| {
        let mut ep = EndpointEvidence {
            id: String::new(),
            endpoint_type: EndpointType::Gateway,
            service_name: String::new(),
            state: String::new(),
            policy: None,
            route_table_ids: Vec::new(),
            private_dns_enabled: None,
        };
        let mut endpoint_type = None;
        while let Some(mut f) = e.next_tag() {
            match f.start_el().local() {
                "vpcEndpointId" => ep.id = text(&mut f)?,
                "vpcEndpointType" => endpoint_type = EndpointType::from_api(&text(&mut f)?),
                "serviceName" => ep.service_name = text(&mut f)?,
                // moto sends `available` where AWS sends `Available`: compare lower-cased.
                "state" => ep.state = text(&mut f)?.to_ascii_lowercase(),
                // not trimmed: the document as the API holds it
                "policyDocument" => {
                    ep.policy = Some(try_data(&mut f).map_err(|e| e.to_string())?.into_owned())
                }
                "routeTableIdSet" => ep.route_table_ids = strings(&mut f)?,
                "privateDnsEnabled" => ep.private_dns_enabled = Some(boolean(&mut f)?),
                _ => {}
            }
        }
        Ok(endpoint_type.map(|t| EndpointEvidence {
            endpoint_type: t,
            ..ep
        }))
    })?;
    Ok(Page {
        items: page.items.into_iter().flatten().collect(),
        next_token: page.next_token,
    })
}

/// DescribeSecurityGroups, with each group's egress rules.
pub fn security_groups(xml: &str) -> Result<Page<SecurityGroupEvidence>, String> {
    page(xml, "securityGroupInfo", |g| {
        let mut group = SecurityGroupEvidence {
            id: String::new(),
            name: None,
            egress: Vec::new(),
        };
        while let Some(mut f) = g.next_tag() {
            match f.start_el().local() {
                "groupId" => group.id = text(&mut f)?,
                "groupName" => group.name = Some(text(&mut f)?),
                "ipPermissionsEgress" => group.egress = items(&mut f, &mut sg_rule)?,
                _ => {}
            }
        }
        Ok(group)
    })
}

/// The values of `field` in each `<item>` of a list (`ipRanges/item/cidrIp`, ...).
fn item_fields(list: &mut Decoder<'_, '_>, field: &str) -> Result<Vec<String>, String> {
    let found = items(list, &mut |item| {
        let mut v = None;
        while let Some(mut f) = item.next_tag() {
            if f.start_el().local() == field {
                v = Some(text(&mut f)?);
            }
        }
        Ok(v)
    })?;
    Ok(found.into_iter().flatten().collect())
}

fn sg_rule(p: &mut Decoder<'_, '_>) -> Result<SecurityGroupRule, String> {
    let mut rule = SecurityGroupRule {
        protocol: "-1".into(),
        ..Default::default()
    };
    while let Some(mut f) = p.next_tag() {
        match f.start_el().local() {
            "ipProtocol" => rule.protocol = text(&mut f)?,
            "fromPort" => rule.from_port = Some(int(&mut f)?),
            "toPort" => rule.to_port = Some(int(&mut f)?),
            "ipRanges" => rule.cidrs = item_fields(&mut f, "cidrIp")?,
            "ipv6Ranges" => rule.ipv6_cidrs = item_fields(&mut f, "cidrIpv6")?,
            "prefixListIds" => rule.prefix_list_ids = item_fields(&mut f, "prefixListId")?,
            "groups" => rule.group_ids = item_fields(&mut f, "groupId")?,
            _ => {}
        }
    }
    Ok(rule)
}

/// DescribeNetworkAcls (`associated` is the caller's: how it asked).
pub fn network_acls(xml: &str, associated: bool) -> Result<Page<NetworkAclEvidence>, String> {
    page(xml, "networkAclSet", |a| {
        let mut acl = NetworkAclEvidence {
            associated,
            ..Default::default()
        };
        while let Some(mut f) = a.next_tag() {
            match f.start_el().local() {
                "networkAclId" => acl.id = text(&mut f)?,
                "default" => acl.default = boolean(&mut f)?,
                "entrySet" => acl.entries = items(&mut f, &mut acl_entry)?,
                _ => {}
            }
        }
        Ok(acl)
    })
}

fn acl_entry(e: &mut Decoder<'_, '_>) -> Result<NetworkAclEntry, String> {
    let mut entry = NetworkAclEntry {
        rule_number: 32767,
        protocol: "-1".into(),
        rule_action: "deny".into(),
        ..Default::default()
    };
    while let Some(mut f) = e.next_tag() {
        match f.start_el().local() {
            "ruleNumber" => entry.rule_number = int(&mut f)?,
            "egress" => entry.egress = boolean(&mut f)?,
            "protocol" => entry.protocol = text(&mut f)?,
            "ruleAction" => entry.rule_action = text(&mut f)?.to_ascii_lowercase(),
            "cidrBlock" => entry.cidr = Some(text(&mut f)?),
            "ipv6CidrBlock" => entry.ipv6_cidr = Some(text(&mut f)?),
            "portRange" => {
                while let Some(mut p) = f.next_tag() {
                    match p.start_el().local() {
                        "from" => entry.from_port = Some(int(&mut p)?),
                        "to" => entry.to_port = Some(int(&mut p)?),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(entry)
}

/// An error answer's code, message and request id, wherever they sit (EC2's
/// `<Response><Errors><Error>`, or the `<ErrorResponse><Error>` of other Query APIs).
pub fn error(xml: &str) -> ApiError {
    let mut err = ApiError::default();
    let mut doc = Document::new(xml);
    while let Some(el) = doc.next_start_element() {
        let name = el.local().to_string();
        let slot = match name.as_str() {
            "Code" if err.code.is_none() => &mut err.code,
            "Message" if err.message.is_none() => &mut err.message,
            "RequestID" | "RequestId" | "requestId" if err.request_id.is_none() => {
                &mut err.request_id
            }
            _ => continue,
        };
        let mut tag = doc.scoped_to(el);
        if let Ok(t) = text(&mut tag) {
            *slot = Some(t).filter(|t| !t.is_empty());
        }
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = r#"xmlns="http://ec2.amazonaws.com/doc/2016-11-15/""#;

    #[test]
    fn route_tables_with_their_routes_and_the_next_token() {
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeRouteTablesResponse {NS}>
  <requestId>r-1</requestId>
  <routeTableSet>
    <item>
      <routeTableId>rtb-1</routeTableId>
      <vpcId>vpc-1</vpcId>
      <routeSet>
        <item><destinationCidrBlock>10.0.0.0/16</destinationCidrBlock><gatewayId>local</gatewayId><state>active</state></item>
        <item><destinationPrefixListId>pl-63a5400a</destinationPrefixListId><gatewayId>vpce-1</gatewayId><state>active</state><origin>CreateRoute</origin></item>
        <item><destinationCidrBlock>0.0.0.0/0</destinationCidrBlock><natGatewayId>nat-1</natGatewayId><state>blackhole</state></item>
        <item><destinationIpv6CidrBlock>::/0</destinationIpv6CidrBlock><egressOnlyInternetGatewayId>eigw-1</egressOnlyInternetGatewayId></item>
        <item><gatewayId>igw-nodest</gatewayId></item>
      </routeSet>
      <associationSet><item><subnetId>subnet-1</subnetId><main>false</main></item></associationSet>
      <tagSet/>
    </item>
  </routeTableSet>
  <nextToken>t-2</nextToken>
</DescribeRouteTablesResponse>"#
        );
        let p = route_tables(&xml).unwrap();
        assert_eq!(p.next_token.as_deref(), Some("t-2"));
        assert_eq!(p.items.len(), 1);
        let t = &p.items[0];
        assert_eq!(t.id, "rtb-1");
        let got: Vec<(&str, &str, &str)> = t
            .routes
            .iter()
            .map(|r| (&*r.destination, &*r.target, &*r.state))
            .collect();
        assert_eq!(
            got,
            [
                ("10.0.0.0/16", "local", "active"),
                ("pl-63a5400a", "vpce-1", "active"),
                ("0.0.0.0/0", "nat-1", "blackhole"),
                ("::/0", "eigw-1", "active"),
            ]
        );
    }

    #[test]
    fn an_empty_answer_and_an_empty_next_token() {
        let xml = format!(
            "<DescribeRouteTablesResponse {NS}><routeTableSet/><nextToken></nextToken></DescribeRouteTablesResponse>"
        );
        let p = route_tables(&xml).unwrap();
        assert!(p.items.is_empty());
        assert_eq!(p.next_token, None);
    }

    #[test]
    fn prefix_lists_and_their_entries() {
        let xml = format!(
            "<DescribeManagedPrefixListsResponse {NS}><prefixListSet><item><prefixListId>pl-1</prefixListId><prefixListName>com.amazonaws.us-east-1.s3</prefixListName><maxEntries>0</maxEntries></item></prefixListSet></DescribeManagedPrefixListsResponse>"
        );
        let p = prefix_lists(&xml).unwrap();
        assert_eq!(p.items[0].id, "pl-1");
        assert_eq!(
            p.items[0].name.as_deref(),
            Some("com.amazonaws.us-east-1.s3")
        );
        let xml = format!(
            "<GetManagedPrefixListEntriesResponse {NS}><entrySet><item><cidr>3.5.0.0/19</cidr><description>x</description></item><item><cidr>52.216.0.0/15</cidr></item></entrySet><nextToken>n</nextToken></GetManagedPrefixListEntriesResponse>"
        );
        let p = prefix_list_entries(&xml).unwrap();
        assert_eq!(p.items, ["3.5.0.0/19", "52.216.0.0/15"]);
        assert_eq!(p.next_token.as_deref(), Some("n"));
    }

    #[test]
    fn vpc_endpoints_keep_their_policy_verbatim_and_skip_unknown_types() {
        let xml = format!(
            r#"<DescribeVpcEndpointsResponse {NS}><vpcEndpointSet>
<item><vpcEndpointId>vpce-1</vpcEndpointId><vpcEndpointType>Gateway</vpcEndpointType><serviceName>com.amazonaws.us-east-1.s3</serviceName><state>Available</state>
<policyDocument>{{&quot;Statement&quot;:[{{&quot;Effect&quot;:&quot;Allow&quot;,&quot;Resource&quot;:&quot;arn:aws:s3:::a&amp;b&quot;}}]}}</policyDocument>
<routeTableIdSet><item>rtb-1</item><item>rtb-2</item></routeTableIdSet><privateDnsEnabled>false</privateDnsEnabled></item>
<item><vpcEndpointId>vpce-2</vpcEndpointId><vpcEndpointType>Interface</vpcEndpointType><serviceName>s</serviceName><state>available</state><privateDnsEnabled>true</privateDnsEnabled></item>
<item><vpcEndpointId>vpce-3</vpcEndpointId><vpcEndpointType>SomethingNew</vpcEndpointType></item>
</vpcEndpointSet></DescribeVpcEndpointsResponse>"#
        );
        let p = vpc_endpoints(&xml).unwrap();
        assert_eq!(p.items.len(), 2);
        let e = &p.items[0];
        assert_eq!(
            (e.id.as_str(), e.endpoint_type, e.state.as_str()),
            ("vpce-1", EndpointType::Gateway, "available")
        );
        assert_eq!(
            e.policy.as_deref(),
            Some(r#"{"Statement":[{"Effect":"Allow","Resource":"arn:aws:s3:::a&b"}]}"#)
        );
        assert_eq!(e.route_table_ids, ["rtb-1", "rtb-2"]);
        assert_eq!(e.private_dns_enabled, Some(false));
        assert_eq!(p.items[1].endpoint_type, EndpointType::Interface);
        assert_eq!(p.items[1].private_dns_enabled, Some(true));
    }

    #[test]
    fn security_groups_with_their_egress_rules_only() {
        let xml = format!(
            r#"<DescribeSecurityGroupsResponse {NS}><securityGroupInfo><item>
<ownerId>1</ownerId><groupId>sg-1</groupId><groupName>web</groupName>
<ipPermissions><item><ipProtocol>tcp</ipProtocol><fromPort>22</fromPort><toPort>22</toPort><ipRanges><item><cidrIp>1.2.3.4/32</cidrIp></item></ipRanges></item></ipPermissions>
<ipPermissionsEgress>
 <item><ipProtocol>tcp</ipProtocol><fromPort>443</fromPort><toPort>443</toPort>
  <ipRanges><item><cidrIp>10.0.0.0/8</cidrIp><description>d</description></item></ipRanges>
  <ipv6Ranges><item><cidrIpv6>::/0</cidrIpv6></item></ipv6Ranges>
  <prefixListIds><item><prefixListId>pl-1</prefixListId></item></prefixListIds>
  <groups><item><userId>1</userId><groupId>sg-2</groupId></item></groups></item>
 <item><ipProtocol>-1</ipProtocol><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges></item>
</ipPermissionsEgress></item></securityGroupInfo></DescribeSecurityGroupsResponse>"#
        );
        let p = security_groups(&xml).unwrap();
        let g = &p.items[0];
        assert_eq!((g.id.as_str(), g.name.as_deref()), ("sg-1", Some("web")));
        assert_eq!(g.egress.len(), 2);
        assert_eq!(
            g.egress[0],
            SecurityGroupRule {
                protocol: "tcp".into(),
                from_port: Some(443),
                to_port: Some(443),
                cidrs: vec!["10.0.0.0/8".into()],
                ipv6_cidrs: vec!["::/0".into()],
                prefix_list_ids: vec!["pl-1".into()],
                group_ids: vec!["sg-2".into()],
            }
        );
        assert_eq!(g.egress[1].protocol, "-1");
        assert_eq!(g.egress[1].from_port, None);
    }

    #[test]
    fn network_acls_with_their_entries() {
        let xml = format!(
            r#"<DescribeNetworkAclsResponse {NS}><networkAclSet><item><networkAclId>acl-1</networkAclId><vpcId>vpc-1</vpcId><default>true</default>
<entrySet>
 <item><ruleNumber>100</ruleNumber><protocol>6</protocol><ruleAction>allow</ruleAction><egress>true</egress><cidrBlock>0.0.0.0/0</cidrBlock><portRange><from>443</from><to>443</to></portRange></item>
 <item><ruleNumber>32767</ruleNumber><protocol>-1</protocol><ruleAction>DENY</ruleAction><egress>false</egress><ipv6CidrBlock>::/0</ipv6CidrBlock></item>
</entrySet><associationSet/></item></networkAclSet></DescribeNetworkAclsResponse>"#
        );
        let p = network_acls(&xml, true).unwrap();
        let a = &p.items[0];
        assert_eq!(
            (a.id.as_str(), a.default, a.associated),
            ("acl-1", true, true)
        );
        assert_eq!(
            a.entries[0],
            NetworkAclEntry {
                rule_number: 100,
                egress: true,
                protocol: "6".into(),
                rule_action: "allow".into(),
                cidr: Some("0.0.0.0/0".into()),
                ipv6_cidr: None,
                from_port: Some(443),
                to_port: Some(443),
            }
        );
        assert_eq!(a.entries[1].rule_action, "deny");
        assert_eq!(a.entries[1].ipv6_cidr.as_deref(), Some("::/0"));
    }

    #[test]
    fn errors_in_ec2s_shape_and_others() {
        let e = error(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>5b3e-1</RequestID></Response>"#,
        );
        assert_eq!(
            e,
            ApiError {
                code: Some("RequestLimitExceeded".into()),
                message: Some("Request limit exceeded.".into()),
                request_id: Some("5b3e-1".into()),
            }
        );
        let e = error(
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no</Message></Error><RequestId>r</RequestId></ErrorResponse>",
        );
        assert_eq!(e.code.as_deref(), Some("AccessDenied"));
        assert_eq!(e.request_id.as_deref(), Some("r"));
        assert_eq!(error("not xml"), ApiError::default());
        assert_eq!(error(""), ApiError::default());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(route_tables("").is_err());
        assert!(
            security_groups("<a><securityGroupInfo><item><groupId>")
                .is_ok_and(|p| p.items.len() <= 1)
        );
        let bad = format!(
            "<R {NS}><networkAclSet><item><entrySet><item><ruleNumber>x</ruleNumber></item></entrySet></item></networkAclSet></R>"
        );
        assert!(network_acls(&bad, false).is_err());
    }
}
