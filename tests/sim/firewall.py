#!/usr/bin/env python3
"""firewall.py DIR — print the nftables ruleset that makes the simulated VPC enforce what moto holds.

Called by ``vpc.sh firewall`` (which loads it into the instance netns). Nothing is declared here:
the instance is DIR/instance.json (what IMDS tells the probe: its security group ids, subnet and
VPC), and its security groups, the subnet's network ACL and every prefix list they name are read
from moto through the admin URL of DIR/env. As in AWS:

* security groups (chains ``sg_out``/``sg_in``) are allow-only and stateful: the union of the
  groups' egress rules, answers come back as established/related; nothing is accepted inbound
  that the instance did not start (the probe serves nothing);
* the network ACL (chains ``acl_out``/``acl_in``) is stateless: each direction's entries in rule
  number order, the first match decides, nothing matched denies (the final ``*``); it filters
  only traffic that leaves the subnet;
* neither filters the Amazon DNS server (VPC base +2, 169.254.169.253), IMDS or loopback.

The sim is IPv4 only: IPv6 ranges are left out. A rule naming a security group matches the
instance's own address when the instance is a member of that group (the only instance here).
"""

import json
import os
import sys

import boto3

EXEMPT = ["169.254.169.254", "169.254.169.253"]


def env(d):
    out = {}
    with open(os.path.join(d, "env")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            out[k] = v
    return out


def proto_match(proto, from_port, to_port, port_dir):
    """The nft expression of a protocol and port range (`port_dir` is `dport`)."""
    names = {"6": "tcp", "17": "udp", "1": "icmp", "tcp": "tcp", "udp": "udp", "icmp": "icmp"}
    if proto in ("-1", "all"):
        return ""
    name = names.get(str(proto))
    if name in ("tcp", "udp"):
        if from_port is None or to_port is None or from_port == -1:
            return f"meta l4proto {name} "
        ports = f"{from_port}" if from_port == to_port else f"{from_port}-{to_port}"
        return f"{name} {port_dir} {ports} "
    if name == "icmp":
        return "meta l4proto icmp "
    return f"meta l4proto {int(proto)} "


def main():
    d = sys.argv[1]
    e = env(d)
    with open(os.path.join(d, "instance.json")) as f:
        inst = json.load(f)
    ec2 = boto3.client(
        "ec2", region_name="us-east-1", endpoint_url=e["ADMIN_URL"], verify=e["CA_BUNDLE"],
        aws_access_key_id="admin", aws_secret_access_key="admin")
    me = e["INSTANCE_IP"]
    exempt = EXEMPT + [e["DNS_IP"]]
    lists = {}

    def prefix_list(pl):
        if pl not in lists:
            entries = ec2.get_managed_prefix_list_entries(PrefixListId=pl)["Entries"]
            lists[pl] = [x["Cidr"] for x in entries if ":" not in x["Cidr"]]
        return lists[pl]

    sg_ids = inst.get("security_group_ids") or []
    groups = ec2.describe_security_groups(GroupIds=sg_ids)["SecurityGroups"] if sg_ids else []
    sg_out = []
    for g in groups:
        for p in g.get("IpPermissionsEgress", []):
            m = proto_match(p.get("IpProtocol", "-1"), p.get("FromPort"), p.get("ToPort"), "dport")
            dests = [r["CidrIp"] for r in p.get("IpRanges", [])]
            for pl in p.get("PrefixListIds", []):
                dests += prefix_list(pl["PrefixListId"])
            if any(u.get("GroupId") in sg_ids for u in p.get("UserIdGroupPairs", [])):
                dests.append(f"{me}/32")
            if dests:
                sg_out.append(f"ip daddr {{ {', '.join(dests)} }} {m}accept  # {g['GroupId']}")

    subnet = ec2.describe_subnets(SubnetIds=[inst["subnet_id"]])["Subnets"][0]["CidrBlock"]
    acls = ec2.describe_network_acls(
        Filters=[{"Name": "association.subnet-id", "Values": [inst["subnet_id"]]}])["NetworkAcls"]
    if not acls:
        acls = ec2.describe_network_acls(Filters=[
            {"Name": "vpc-id", "Values": [inst["vpc_id"]]},
            {"Name": "default", "Values": ["true"]}])["NetworkAcls"]
    acl_rules = {True: [], False: []}
    acl_id = acls[0]["NetworkAclId"] if acls else "none"
    for en in sorted(acls[0]["Entries"] if acls else [], key=lambda x: x["RuleNumber"]):
        if "CidrBlock" not in en:
            continue  # IPv6 entry
        egress = en["Egress"]
        pr = en.get("PortRange") or {}
        m = proto_match(en.get("Protocol", "-1"), pr.get("From"), pr.get("To"), "dport")
        addr = "daddr" if egress else "saddr"
        verdict = "accept" if en["RuleAction"] == "allow" else "drop"
        acl_rules[egress].append(
            f"ip {addr} {en['CidrBlock']} {m}{verdict}  # {acl_id} rule {en['RuleNumber']}")

    def chain(name, hook, prio, pre, rules):
        body = "\n    ".join(pre + rules)
        return (f"  chain {name} {{\n    type filter hook {hook} priority {prio}; policy drop;\n"
                f"    {body}\n  }}\n")

    ex = ", ".join(exempt)
    print("table ip vpcsim\ndelete table ip vpcsim")
    print("table ip vpcsim {")
    print(f"  set exempt {{ type ipv4_addr; elements = {{ {ex} }} }}")
    print(chain("sg_out", "output", 0,
                ['oif "lo" accept', "ct state established,related accept",
                 "ip daddr @exempt accept"], sg_out), end="")
    print(chain("sg_in", "input", 0,
                ['iif "lo" accept', "ct state established,related accept",
                 "ip saddr @exempt accept"], []), end="")
    print(chain("acl_out", "output", 10,
                ['oif "lo" accept', "ip daddr @exempt accept", f"ip daddr {subnet} accept"],
                acl_rules[True]), end="")
    print(chain("acl_in", "input", 10,
                ['iif "lo" accept', "ip saddr @exempt accept", f"ip saddr {subnet} accept"],
                acl_rules[False]), end="")
    print("}")


if __name__ == "__main__":
    main()
