/**
 * Every policy of the pack with at least one case it must pass and one it must fail, in one
 * table keyed by policy name. A policy missing from the table fails the first test; a policy
 * whose body is emptied passes its failing cases and fails the second. The stack rules (which
 * group is which) and values unknown at preview are covered here; policy-rules.test.ts has the
 * finer cases of the original four.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { allPolicies } from "../../policy/rules/all-policies.ts";
import {
    type FakeStackResource,
    stackViolations,
    UNKNOWN_AT_PREVIEW,
    violations,
} from "./fake-policy-args.ts";

const SG = "aws:ec2/securityGroup:SecurityGroup";
const SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const LB = "aws:lb/loadBalancer:LoadBalancer";
const INSTANCE = "aws:ec2/instance:Instance";
const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
const KEY = "aws:kms/key:Key";

/** One case: a stack (for stack rules) or one resource (the first of the stack), and config. */
interface Case {
    readonly label: string;
    readonly stack: readonly FakeStackResource[];
    readonly config?: Record<string, unknown>;
    /** For failing cases: what the message must say. */
    readonly says?: RegExp;
}

const group = (tier: string): FakeStackResource => ({
    type: SG,
    name: `sg-${tier}`,
    props: { tags: { Name: `sg-${tier}`, "mqtt-edge:tier": tier } },
});
const edgeGroups = [group("nlb"), group("haproxy"), group("emqx")];
const nlb: FakeStackResource = {
    type: LB,
    name: "nlb",
    props: { loadBalancerType: "network", securityGroups: [UNKNOWN_AT_PREVIEW] },
    dependsOn: { securityGroups: ["sg-nlb"] },
};
/** A vpc ingress rule on `to` (a group name), from `from` (a group name) or a CIDR. */
const rule = (
    name: string,
    to: string,
    port: number,
    from: { group: string } | { cidr: string } | { props: Record<string, unknown> },
): FakeStackResource => ({
    type: INGRESS,
    name,
    props: {
        securityGroupId: UNKNOWN_AT_PREVIEW,
        ipProtocol: "tcp",
        fromPort: port,
        toPort: port,
        ...("group" in from
            ? { referencedSecurityGroupId: UNKNOWN_AT_PREVIEW }
            : "cidr" in from
              ? { cidrIpv4: from.cidr }
              : from.props),
    },
    dependsOn: {
        securityGroupId: [to],
        ...("group" in from ? { referencedSecurityGroupId: [from.group] } : {}),
    },
});
const stack = (...resources: FakeStackResource[]) => [...edgeGroups, nlb, ...resources];
const document = (statement: Record<string, unknown>) =>
    JSON.stringify({ Version: "2012-10-17", Statement: [statement] });
const one = (type: string, props: Record<string, unknown>): FakeStackResource[] => [
    { type, name: "it", props },
];

const cases: Record<string, { pass: Case[]; fail: Case[] }> = {
    "no-world-ingress-except-device-port": {
        pass: [
            {
                label: "8883 from the world",
                stack: one(INGRESS, {
                    ipProtocol: "tcp",
                    fromPort: 8883,
                    toPort: 8883,
                    cidrIpv4: "0.0.0.0/0",
                }),
            },
        ],
        fail: [
            {
                label: "22 from the world",
                stack: one(INGRESS, {
                    ipProtocol: "tcp",
                    fromPort: 22,
                    toPort: 22,
                    cidrIpv4: "0.0.0.0/0",
                }),
                says: /only TCP 8883/,
            },
            {
                label: "443 from a CIDR not known at preview",
                stack: one(INGRESS, {
                    ipProtocol: "tcp",
                    fromPort: 443,
                    toPort: 443,
                    cidrIpv4: UNKNOWN_AT_PREVIEW,
                }),
                says: /cidrIpv4 not known at preview/,
            },
        ],
    },
    "emqx-mqtt-only-from-haproxy": {
        pass: [
            {
                label: "1883 from a group",
                stack: one(INGRESS, {
                    ipProtocol: "tcp",
                    fromPort: 1883,
                    toPort: 1883,
                    referencedSecurityGroupId: "sg-1",
                }),
            },
        ],
        fail: [
            {
                label: "1883 from a private CIDR",
                stack: one(INGRESS, {
                    ipProtocol: "tcp",
                    fromPort: 1883,
                    toPort: 1883,
                    cidrIpv4: "10.0.0.0/8",
                }),
                says: /1883 may only be reached from the HAProxy/,
            },
            {
                label: "1883 from a CIDR list element not known at preview",
                stack: one(SG_RULE, {
                    type: "ingress",
                    protocol: "tcp",
                    fromPort: 1883,
                    toPort: 1883,
                    cidrBlocks: [UNKNOWN_AT_PREVIEW],
                }),
                says: /cidrBlocks\[0\] not known at preview/,
            },
        ],
    },
    "no-secrets-in-user-data": {
        pass: [
            {
                label: "plain user-data",
                stack: one(INSTANCE, { userData: "#!/bin/bash\necho hi\n" }),
            },
        ],
        fail: [
            {
                label: "a cookie",
                stack: one(INSTANCE, { userData: "EMQX_NODE__COOKIE='Cabcdef0123456789'\n" }),
                says: /cookie, password/,
            },
        ],
    },
    "no-public-ip-on-hosts": {
        pass: [
            { label: "no public IP", stack: one(INSTANCE, { associatePublicIpAddress: false }) },
        ],
        fail: [
            {
                label: "a public IP",
                stack: one(INSTANCE, { associatePublicIpAddress: true }),
                says: /set it to false/,
            },
        ],
    },
    "no-data-reads-on-everything": {
        pass: [
            {
                label: "reads named parameters; agent actions on *",
                stack: one(ROLE_POLICY, {
                    policy: JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Effect: "Allow",
                                Action: ["ssm:GetParameter"],
                                Resource: ["arn:aws:ssm:eu-west-1:1:parameter/a"],
                            },
                            {
                                Effect: "Allow",
                                Action: ["ssmmessages:OpenDataChannel"],
                                Resource: "*",
                            },
                            { Effect: "Deny", Action: ["s3:*"], Resource: "*" },
                        ],
                    }),
                }),
            },
            {
                label: "a managed policy the config allows",
                stack: one(ATTACHMENT, {
                    policyArn: "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
                }),
                config: {
                    allowedManagedPolicyArns: [
                        "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
                    ],
                },
            },
        ],
        fail: [
            {
                label: "GetParameter on *",
                stack: one(ROLE_POLICY, {
                    policy: document({
                        Sid: "Oops",
                        Effect: "Allow",
                        Action: "ssm:GetParameter",
                        Resource: "*",
                    }),
                }),
                says: /Oops allows ssm:GetParameter on "\*"/,
            },
            {
                label: "ssm:GetParam* on *",
                stack: one(ROLE_POLICY, {
                    policy: document({
                        Effect: "Allow",
                        Action: ["ssm:GetParam*"],
                        Resource: ["*"],
                    }),
                }),
                says: /ssm:GetParameter, ssm:GetParameters, ssm:GetParametersByPath/,
            },
            {
                label: "kms:* on *",
                stack: one(ROLE_POLICY, {
                    policy: document({ Effect: "Allow", Action: ["kms:*"], Resource: "*" }),
                }),
                says: /kms:Decrypt/,
            },
            {
                label: "s3:GetObject on * in a role's inline policy",
                stack: one(ROLE, {
                    inlinePolicies: [
                        {
                            name: "x",
                            policy: document({
                                Effect: "Allow",
                                Action: "s3:GetObject",
                                Resource: "*",
                            }),
                        },
                    ],
                }),
                says: /inlinePolicies\[0\]\.policy: .*s3:GetObject/,
            },
            {
                label: "NotResource",
                stack: one(ROLE_POLICY, {
                    policy: document({
                        Effect: "Allow",
                        Action: "s3:GetObject",
                        NotResource: "arn:aws:s3:::x/*",
                    }),
                }),
                says: /NotAction\/NotResource/,
            },
            {
                label: "AmazonSSMManagedInstanceCore attached",
                stack: one(ATTACHMENT, {
                    policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
                }),
                says: /AWS managed policy/,
            },
            {
                label: "a managed policy on the role itself",
                stack: one(ROLE, {
                    managedPolicyArns: ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"],
                }),
                says: /managedPolicyArns\[0\]/,
            },
        ],
    },
    "kms-keys-rotate": {
        pass: [{ label: "rotation on", stack: one(KEY, { enableKeyRotation: true }) }],
        fail: [
            {
                label: "rotation unset",
                stack: one(KEY, {}),
                says: /enableKeyRotation: undefined is not allowed/,
            },
            {
                label: "rotation off",
                stack: one(KEY, { enableKeyRotation: false }),
                says: /false is not allowed/,
            },
            {
                label: "rotation not known",
                stack: one(KEY, { enableKeyRotation: UNKNOWN_AT_PREVIEW }),
                says: /not known at preview/,
            },
        ],
    },
    "world-ingress-only-on-the-nlb": {
        pass: [
            {
                label: "devices to the NLB's group",
                stack: stack(rule("in", "sg-nlb", 8883, { cidr: "0.0.0.0/0" })),
            },
            {
                label: "a private CIDR on the HAProxy group",
                stack: stack(rule("in", "sg-haproxy", 8883, { cidr: "10.0.0.0/8" })),
            },
        ],
        fail: [
            {
                label: "the device port open to the world on the HAProxy group",
                stack: stack(rule("in", "sg-haproxy", 8883, { cidr: "0.0.0.0/0" })),
                says: /on the haproxy group \(sg-haproxy\) to 0\.0\.0\.0\/0; only the NLB's security group/,
            },
            {
                label: "inline world ingress on the EMQX group",
                stack: [
                    ...stack(),
                    {
                        type: SG,
                        name: "sg-inline",
                        props: {
                            ingress: [
                                {
                                    protocol: "tcp",
                                    fromPort: 8883,
                                    toPort: 8883,
                                    ipv6CidrBlocks: ["::/0"],
                                },
                            ],
                        },
                    },
                ],
                says: /on group sg-inline to ::\/0/,
            },
        ],
    },
    "emqx-ports-from-their-peers": {
        pass: [
            {
                label: "the edge's own rules",
                stack: stack(
                    rule("mqtt", "sg-emqx", 1883, { group: "sg-haproxy" }),
                    rule("dist", "sg-emqx", 4370, { group: "sg-emqx" }),
                    rule("rpc", "sg-emqx", 5370, { group: "sg-emqx" }),
                ),
            },
            {
                label: "the dashboard to an admin CIDR the config lists",
                stack: stack(rule("dash", "sg-emqx", 18083, { cidr: "203.0.113.7/32" })),
                config: { dashboardAdminCidrs: ["203.0.113.7/32"] },
            },
        ],
        fail: [
            {
                label: "4370 from the HAProxy group",
                stack: stack(rule("dist", "sg-emqx", 4370, { group: "sg-haproxy" })),
                says: /Erlang distribution, 4370\) to the haproxy group \(sg-haproxy\); 4370 may only be reached from the emqx group/,
            },
            {
                label: "5370 from the HAProxy group",
                stack: stack(rule("rpc", "sg-emqx", 5370, { group: "sg-haproxy" })),
                says: /gen_rpc, 5370\) to the haproxy group/,
            },
            {
                label: "1883 from the EMQX group itself",
                stack: stack(rule("mqtt", "sg-emqx", 1883, { group: "sg-emqx" })),
                says: /to the emqx group \(sg-emqx\); 1883 may only be reached from the haproxy group/,
            },
            {
                label: "1883 from a prefix list",
                stack: stack(rule("mqtt", "sg-emqx", 1883, { props: { prefixListId: "pl-123" } })),
                says: /to prefix list pl-123/,
            },
            {
                label: "1883 from a group outside the stack",
                stack: stack(
                    rule("mqtt", "sg-emqx", 1883, {
                        props: { referencedSecurityGroupId: "sg-0abc" },
                    }),
                ),
                says: /to group sg-0abc outside this stack/,
            },
            {
                label: "1883 from a source not known at preview",
                stack: stack(
                    rule("mqtt", "sg-emqx", 1883, {
                        props: { referencedSecurityGroupId: UNKNOWN_AT_PREVIEW },
                    }),
                ),
                says: /to referencedSecurityGroupId, not known at preview/,
            },
            {
                label: "18083 from the HAProxy group",
                stack: stack(rule("dash", "sg-emqx", 18083, { group: "sg-haproxy" })),
                says: /18083 may only be reached from no group/,
            },
            {
                label: "18083 from a CIDR the config does not list",
                stack: stack(rule("dash", "sg-emqx", 18083, { cidr: "198.51.100.0/24" })),
                config: { dashboardAdminCidrs: ["203.0.113.7/32"] },
                says: /to 198\.51\.100\.0\/24/,
            },
            {
                label: "a port range over 4370-5370 from HAProxy, through a legacy SG rule",
                stack: [
                    ...stack(),
                    {
                        type: SG_RULE,
                        name: "range",
                        props: {
                            type: "ingress",
                            protocol: "tcp",
                            fromPort: 4000,
                            toPort: 6000,
                            sourceSecurityGroupId: UNKNOWN_AT_PREVIEW,
                            securityGroupId: UNKNOWN_AT_PREVIEW,
                        },
                        dependsOn: {
                            securityGroupId: ["sg-emqx"],
                            sourceSecurityGroupId: ["sg-haproxy"],
                        },
                    },
                ],
                says: /4370 may only be reached from the emqx group/,
            },
        ],
    },
};

async function run(
    policy: ResourceValidationPolicy | StackValidationPolicy,
    c: Case,
): Promise<string[]> {
    if ("validateStack" in policy) return stackViolations(policy, c.stack, c.config);
    const [resource] = c.stack;
    if (!resource) throw new Error(`${c.label}: no resource`);
    return violations(policy, resource.type, resource.props, c.config, resource.name);
}

test("every policy of the pack has passing and failing cases here, and nothing else does", () => {
    assert.deepEqual(Object.keys(cases).sort(), allPolicies.map((p) => p.name).sort());
    for (const [name, { pass, fail }] of Object.entries(cases)) {
        assert.ok(pass.length > 0 && fail.length > 0, name);
    }
});

for (const policy of allPolicies) {
    describe(policy.name, () => {
        for (const c of cases[policy.name]?.pass ?? []) {
            test(`passes ${c.label}`, async () => {
                assert.deepEqual(await run(policy, c), []);
            });
        }
        for (const c of cases[policy.name]?.fail ?? []) {
            test(`fails ${c.label}`, async () => {
                const found = await run(policy, c);
                assert.ok(found.length > 0, "an emptied rule body reports nothing");
                if (c.says) {
                    assert.ok(
                        found.some((m) => c.says?.test(m)),
                        found.join("\n"),
                    );
                }
            });
        }
    });
}
