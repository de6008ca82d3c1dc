"""Versions of the compensation rules: the current one (the first issued on a new database), new ones, dry runs."""

from __future__ import annotations

from sqlalchemy import select

from services.compensation.models import ProgramMerchant, RuleSet
from services.compensation.part import Part
from services.compensation.rules import ClaimFacts, evaluate, first_rules
from shared.contracts.compensation import DryRunIn, DryRunOut, RuleSetIn
from shared.contracts.identity import Identity


class RuleVersions(Part):
    """The rules as versioned data; a claim keeps the version it was decided under."""

    async def current_rules(self) -> RuleSet:
        rules = (
            await self.session.execute(select(RuleSet).order_by(RuleSet.version.desc()).limit(1))
        ).scalar_one_or_none()
        if rules is None:  # the first version, as issued, on a new database
            rules = RuleSet(
                version=1,
                document=first_rules().model_dump(mode="json"),
                created_by="system",
                created_at=self.clock.now(),
            )
            self.session.add(rules)
            await self.session.flush()
        return rules

    async def new_rules(self, body: RuleSetIn, actor: Identity) -> RuleSet:
        """A new version; claims keep the version they were decided under."""
        current = await self.current_rules()
        rules = RuleSet(
            version=current.version + 1,
            document=body.model_dump(mode="json"),
            created_by=actor.subject,
            created_at=self.clock.now(),
        )
        self.session.add(rules)
        await self.session.flush()
        return rules

    async def dry_run(self, rules_row: RuleSet, body: DryRunIn) -> DryRunOut:
        """What a claim would get under one version of the rules; nothing is written."""
        rules = RuleSetIn.model_validate(rules_row.document)
        enrolled = ProgramMerchant(id="dry-run", name="dry run", settled=True, in_compensation_program=True)
        decision = evaluate(
            rules,
            ClaimFacts(
                industry=body.industry,
                merchant=enrolled,
                amount_involved_fen=body.amount_involved_fen,
                amount_requested_fen=body.amount_requested_fen,
                scenario=body.scenario,
                evidence_count=1,
                liability_clear=True,
                paid_this_year_fen=body.paid_this_year_fen,
                fund_balance_fen=10**15,
                fund_floor_fen=0,
                region_code=body.region_code,
                registered_at=body.registered_at or self.clock.now(),
                given=dict(body.facts),
            ),
        )
        assumed = {"merchant_settled", "merchant_in_program", "evidence_present", "liability_clear", "fund_above_floor"}
        return DryRunOut(
            rule_version=rules_row.version,
            eligible=decision.eligible,
            amount_fen=decision.amount_fen,
            approvals_needed=decision.approvals_needed,
            decided_by=decision.decided_by,
            reasons=[r for r in decision.reasons if r.code not in assumed],
            assumed="a settled merchant in the program, evidence attached, liability clear, a fund that can pay",
        )
