/**
 * The mqtt-edge policy pack: `pulumi preview --policy-pack ./policy`. Constructing a PolicyPack
 * starts the policy gRPC server, so the rules live in ./rules and the tests import those.
 */
import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./rules/all-policies.ts";

new PolicyPack("mqtt-edge", { policies: allPolicies });
