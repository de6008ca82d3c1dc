"""The words of every error, in Chinese and English: one catalogue of problem codes, picked by the request's
`Accept-Language` (Chinese unless the caller prefers English), so that every service's problem+json speaks
its caller's language while its `code` stays the same.

A problem's English detail is the sentence it is raised with (values and all); its Chinese detail is the
catalogue's, filled from the problem's `params` and its extra fields (`state`, `field`...). A detail the
catalogue has no words for, or whose values are missing, reads as the code's Chinese title: a Chinese reader
never gets English.
"""

from __future__ import annotations

import string
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

Language = Literal["zh", "en"]
DEFAULT_LANGUAGE: Language = "zh"
_language: ContextVar[Language | None] = ContextVar("language", default=None)


def negotiate(accept_language: str | None) -> Language:
    """The language to answer in: the one of ours the caller weighs highest (first listed on a tie); Chinese
    when it names neither, or sends no header at all."""
    best: tuple[float, Language] | None = None
    for part in (accept_language or "").split(","):
        tag, _, rest = part.strip().partition(";")
        primary = tag.strip().lower().split("-", 1)[0]
        if primary not in ("zh", "en"):
            continue
        q = 1.0
        for param in rest.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0 and (best is None or q > best[0]):
            best = (q, primary)  # type: ignore[assignment]
    return best[1] if best else DEFAULT_LANGUAGE


def language_from_headers(headers: Any) -> Language:
    """`negotiate` for a Starlette `Headers` or an ASGI scope's raw header pairs."""
    if isinstance(headers, list | tuple):
        for key, value in headers:
            if key.lower() == b"accept-language":
                return negotiate(value.decode("latin-1"))
        return DEFAULT_LANGUAGE
    return negotiate(headers.get("accept-language"))


def set_language(language: Language | None) -> object:
    return _language.set(language)


def reset_language(token: object) -> None:
    _language.reset(token)  # type: ignore[arg-type]


def current_language() -> Language:
    return _language.get() or DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Message:
    zh: str  # the title
    en: str
    zh_detail: str | None = None  # with {placeholders} from the problem's params and extra fields


# Values a Chinese detail may name, in words: complaint, return and claim states, and the actions.
VALUE_WORDS_ZH: dict[str, str] = {
    "submitted": "待受理",
    "accepted": "已受理",
    "assigned": "处理中",
    "responded": "已答复",
    "escalated": "已升级",
    "resolved": "已办结",
    "closed": "已结案",
    "not_accepted": "不予受理",
    "withdrawn": "已撤销",
    "transferred": "已转办",
    "linked": "合并办理",
    "requested": "待退款",
    "refunded": "已退款",
    "exchanged": "已换货",
    "referred": "已转当地处理",
    "visits": "回访",
    "exchanges": "换货",
    "rejected": "已驳回",
    "pending_approval": "待审批",
    "approved": "已批准",
    "paid": "已支付",
    "payout_failed": "支付失败",
    "evaluated": "已评价",
    "evidence_added": "补充证据",
    "live": "已入驻",
    "pending": "待审核",
    "suspended": "已暂停",
    "response_accepted": "接受答复",
    "response_rejected": "不接受答复",
    "resolution": "办结",
    "resolutions": "办结",
    "red": "红名单",
    "key_supervision": "重点关注名单",
    "dishonest": "严重失信主体名单",
}


def _m(zh: str, en: str, zh_detail: str | None = None) -> Message:
    return Message(zh, en, zh_detail)


MESSAGES: dict[str, Message] = {
    # --- every service: the format, the edge, the database ---------------------------------------------
    "bad_request": _m("请求有误", "Bad request", "请求有误，请检查后重试。"),
    "validation_failed": _m("填写的内容有误", "Invalid request", "以下内容有误，请检查：{fields}"),
    "validation_failed.shop": _m("填写的内容有误", "Invalid request", "请选择已登记的商户，或填写商户名称。"),
    "validation_failed.received_at": _m(
        "填写的内容有误", "Invalid request", "只有受理渠道和工作人员可以填写收到时间。"
    ),
    "validation_failed.reason": _m("填写的内容有误", "Invalid request", "不予受理时请说明原因。"),
    "validation_failed.future": _m("填写的内容有误", "Invalid request", "发生时间不能晚于现在。"),
    "malformed_json": _m("请求内容格式错误", "Malformed JSON", "请求内容不是有效的 JSON。"),
    "malformed_body": _m("请求内容格式错误", "Malformed body", "请求内容无法解析（表单数据有误）。"),
    "method_not_allowed": _m("不支持此请求方法", "Method not allowed", "该地址不支持此请求方法。"),
    "not_found": _m("未找到", "Not found", "请求的内容不存在。"),
    "unauthorized": _m("需要登录", "Authentication required", "请先登录。"),
    "forbidden": _m("无权操作", "Not allowed", "您没有进行此操作的权限。"),
    "conflict": _m("与现有记录冲突", "Conflict", "与已有的记录冲突。"),
    "concurrent_update": _m("数据已被他人修改", "Concurrent update", "有人同时修改了这条记录，请刷新后重试。"),
    "invalid_transition": _m(
        "当前状态不能进行此操作", "Invalid transition", "投诉当前为“{state}”状态，不能进行此操作，请刷新后查看。"
    ),
    "idempotency_key_reused": _m(
        "幂等键已被使用", "Idempotency key reused", "同一个 Idempotency-Key 已用于内容不同的请求。"
    ),
    "idempotency_request_in_progress": _m(
        "请求正在处理", "Request in progress", "使用同一 Idempotency-Key 的请求仍在处理中，请稍后再试。"
    ),
    "payload_too_large": _m("内容过大", "Payload too large", "提交的内容超过了大小限制。"),
    "unsupported_media_type": _m("不支持的文件类型", "Unsupported media type", "不支持这种内容类型。"),
    "rate_limited": _m("请求过于频繁", "Too many requests", "请求过于频繁，请稍后再试。"),
    "too_many_requests": _m("请求过于频繁", "Too many requests", "请求过于频繁，请稍后再试。"),
    "service_unavailable": _m("服务暂不可用", "Service unavailable", "服务暂时无法访问，请稍后再试。"),
    "upstream_timeout": _m("服务响应超时", "Upstream timed out", "服务响应超时，请稍后再试。"),
    "database_unavailable": _m("数据库暂不可用", "Database unavailable", "数据库暂时无法访问，请稍后重试。"),
    "overloaded": _m("服务繁忙", "Overloaded", "服务繁忙，请稍后重试。"),
    "internal_error": _m("系统内部错误", "Internal error", "发生了意外错误，请稍后再试。"),
    "path_invalid": _m("地址无效", "Invalid path", "请求地址无效。"),
    "invalid_cursor": _m("分页标记无效", "Invalid cursor", "分页标记不是本列表按此排序给出的，请从第一页重新加载。"),
    "date_out_of_range": _m("日期超出范围", "Date out of range", "日期超出可处理的范围。"),
    "event_invalid": _m("事件无效", "Event not valid", "收到的事件内容无效。"),
    "event_conflict": _m("事件正在处理", "Event being applied", "该事件正在处理中，请稍后重试。"),
    "internal_token_missing": _m("请求须经网关", "Internal token missing", "请求必须经由网关转发。"),
    "internal_token_invalid": _m("内部身份凭证无效", "Internal token invalid", "内部身份凭证无效。"),
    "internal_token_expired": _m("内部身份凭证已过期", "Internal token expired", "内部身份凭证已过期。"),
    # --- the gateway: logins, sessions, partners, channels, progress links -------------------------------
    "invalid_credentials": _m("用户名或密码错误", "Invalid credentials", "用户名或密码错误，或账号已停用。"),
    "login_locked": _m(
        "登录失败次数过多",
        "Too many failed logins",
        "该用户名密码错误次数过多，请 {retry_after} 秒后再试，或请管理员解锁。",
    ),
    "login_code_invalid": _m("登录凭证无效", "Login code rejected", "小程序登录凭证无效或已过期，请重新登录。"),
    "login_not_enabled": _m("未开通此登录方式", "Login not enabled", "本平台未开通此登录方式。"),
    "invalid_token": _m("登录凭证无效或已过期", "Invalid or expired token", "登录凭证无效或已过期，请重新登录。"),
    "token_missing": _m("需要登录", "Token missing", "请先登录，并以 Authorization: Bearer 头发送访问令牌。"),
    "token_expired": _m("登录已过期", "Token expired", "访问令牌已过期，请刷新后重试。"),
    "session_ended": _m("会话已结束", "Session ended", "本次登录已结束，请重新登录。"),
    "refresh_token_reused": _m("会话已结束", "Refresh token reused", "刷新令牌被重复使用，会话已结束，请重新登录。"),
    "username_taken": _m("用户名已存在", "Username taken", "该用户名已被使用。"),
    "region_required": _m("缺少地区", "Region required", "政府工作人员账号须指定地区。"),
    "merchant_required": _m("缺少商户", "Merchant required", "商户工作人员账号须指定商户。"),
    "invalid_role": _m("角色无效", "Invalid role", "工作人员只能是政府工作人员、商户工作人员或管理员。"),
    "route_not_found": _m("接口不存在", "No such endpoint", "没有这个接口。"),
    "body_not_allowed": _m("不应有请求内容", "No body expected", "此请求不应携带请求内容。"),
    "provider_unavailable": _m(
        "第三方服务暂不可用", "Provider unavailable", "微信或支付宝服务暂时无法访问，请稍后再试。"
    ),
    "provider_signature_invalid": _m("第三方应答不可信", "Provider answer not trusted", "第三方服务的应答签名无效。"),
    "provider_credentials_rejected": _m(
        "第三方拒绝了平台凭证", "Provider rejected our credentials", "第三方服务拒绝了本平台的凭证，请联系管理员。"
    ),
    "signature_missing": _m("缺少签名", "Signature missing", "请求须签名：请带上全部签名请求头。"),
    "timestamp_invalid": _m("时间戳无效", "Timestamp invalid", "X-Partner-Timestamp 须为 Unix 秒数。"),
    "request_expired": _m("请求已过期", "Request expired", "请求时间与服务器相差超过 5 分钟，请重新签名后发送。"),
    "partner_key_unknown": _m("合作方密钥不存在", "Partner key unknown", "没有这个合作方密钥。"),
    "partner_key_expired": _m(
        "合作方密钥已过期", "Partner key expired", "该密钥已更换且过渡期已结束，请使用新密钥签名。"
    ),
    "signature_invalid": _m("签名无效", "Signature invalid", "签名与请求内容不符。"),
    "nonce_reused": _m("请求重放", "Nonce reused", "该随机数已被使用，请求被视为重放。"),
    "channel_not_served": _m("渠道未开通", "Channel not served", "本平台未开通该渠道。"),
    "channel_mismatch": _m("渠道不符", "Channel mismatch", "该合作方不是此渠道的受理中心。"),
    "unknown_channel": _m("未知渠道", "Unknown channel", "没有这个受理渠道。"),
    "work_order_invalid": _m("工单无法识别", "Work order not understood", "无法识别该工单的内容。"),
    "partner_not_found": _m("合作方不存在", "Partner not found", "没有这个合作方。"),
    "delivery_not_found": _m("推送记录不存在", "Webhook delivery not found", "没有这条推送记录。"),
    "progress_link_invalid": _m(
        "链接无效", "Progress link not valid", "链接无效。请使用收到的完整链接，或用案件编号和联系电话查询。"
    ),
    "progress_link_missing": _m(
        "链接无效", "Progress link missing", "链接无效。请使用收到的完整链接，或用案件编号和联系电话查询。"
    ),
    "progress_link_expired": _m("链接已过期", "Progress link expired", "链接已过期。请用案件编号和联系电话查询。"),
    "progress_link_not_allowed": _m(
        "无权生成进度链接", "Progress link not allowed", "只有投诉人和工作人员可以生成投诉的进度链接。"
    ),
    "case_not_found": _m("未找到投诉", "Case not found", "没有找到与该案件编号和联系电话相符的投诉，请核对后再试。"),
    "lookup_unavailable": _m("暂时无法查询", "Lookup unavailable", "暂时无法查询，请稍后再试。"),
    "complaint_not_found": _m("投诉不存在", "Complaint not found", "没有这件投诉，或您无权查看。"),
    "already_evaluated": _m("已评价", "Already evaluated", "您已经评价过了。"),
    # --- intake: complaints, evidence, returns, reports, imports ------------------------------------------
    "unknown_region": _m("地区不在服务范围", "Unknown region", "本平台不受理地区 {region_code} 的投诉。"),
    "unknown_merchant": _m("商户未登记", "Unknown merchant", "该商户未在本平台登记。"),
    "timestamp_in_future": _m("时间晚于现在", "Timestamp in the future", "填写的时间晚于现在。"),
    "timestamps_out_of_order": _m("时间先后有误", "Timestamps out of order", "发生、渠道收到与派单时间须依次先后。"),
    "channel_not_allowed": _m("渠道不允许", "Channel not allowed", "您不能以该渠道登记投诉。"),
    "filing_not_allowed": _m("无权登记投诉", "Filing not allowed", "您不能登记投诉（商户工作人员不能代为投诉）。"),
    "filing_region_not_allowed": _m("非本地区", "Region not yours", "只能登记本地区的投诉。"),
    "action_not_allowed": _m("无权操作", "Action not allowed", "您不能进行此操作。"),
    "contact_reveal_not_allowed": _m(
        "无权查看完整联系方式", "Contact reveal not allowed", "只有承办该投诉的工作人员可以查看完整联系方式。"
    ),
    "contact_reveals_not_allowed": _m(
        "无权查看查看记录",
        "Contact reveal records not allowed",
        "只有上级工作人员和管理员可以查看完整联系方式的查看记录。",
    ),
    "same_region": _m("已在该地区", "Same region", "投诉已在该地区办理。"),
    "merchant_not_in_program": _m(
        "商户不在先行赔付范围", "Merchant not covered", "只有已入驻并加入先行赔付的商户适用先行赔付。"
    ),
    "compensation_already_requested": _m("已申请先行赔付", "Compensation already requested", "该投诉已申请先行赔付。"),
    "amount_above_involved": _m("金额超过涉及金额", "Amount above involved", "申请金额超过了投诉涉及的金额。"),
    "link_not_found": _m("疑似关联不存在", "Possible link not found", "没有这条疑似关联。"),
    "refund_above_amount_involved": _m(
        "退款超过涉及金额", "Refund above the amount involved", "退还金额不能超过投诉涉及的金额。"
    ),
    "extension_pending": _m("已有延期申请", "Extension already requested", "已有延期申请在等待审批。"),
    "no_pending_extension": _m("没有待审批的延期申请", "No extension request waits", "没有等待审批的延期申请。"),
    "deadline_already_missed": _m("办结时限已过", "Deadline already missed", "办结时限已过，不能再申请或批准延期。"),
    "supervision_already_open": _m("已有督办", "Supervision notice already open", "已有督办在等待回复。"),
    "no_open_supervision": _m("没有待回复的督办", "No supervision notice open", "没有等待回复的督办。"),
    "supervision_not_allowed": _m("不能督办", "Supervision notices not allowed", "只有省级工作人员可以督办。"),
    "merge_target_not_found": _m(
        "找不到要并入的投诉", "Complaint to merge into not found", "找不到要并入的投诉，请核对案件编号。"
    ),
    "merge_into_itself": _m("不能并入自身", "Cannot merge a complaint into itself", "不能把投诉并入它自己。"),
    "claim_finished": _m(
        "申请已办结", "Claim finished", "这笔先行赔付已经支付或已决定不予赔付，不能再更改收款人姓名。"
    ),
    "payee_name_not_allowed": _m(
        "不能查看或提供收款人姓名", "Not allowed", "只有游客本人和该地区的工作人员可以提供收款人姓名。"
    ),
    "payee_name_not_stored": _m(
        "收款人姓名未能保存", "Payee name not stored", "收款人姓名暂时无法保存，申请未提交，请稍后再试。"
    ),
    "compensation_window_closed": _m(
        "已超过结案后可申请的期限", "Too long after closing", "结案已超过本地区规定的期限，不能再申请先行赔付。"
    ),
    "link_already_decided": _m("疑似关联已处理", "Possible link already decided", "这条疑似关联已经处理过了。"),
    "empty_file": _m("文件为空", "Empty file", "文件是空的。"),
    "evidence_not_found": _m("证据文件不存在", "Evidence not found", "没有这个证据文件。"),
    "evidence_unreadable": _m("文件无法读取", "Unreadable file", "文件无法读取，请重新拍照或导出后上传。"),
    "evidence_contains_markup": _m(
        "文件含有网页或脚本",
        "File carries markup",
        "该文件在图片或文档之外还带有网页或脚本，不能作为证据。请上传照片或 PDF 本身（截图也可以）。",
    ),
    "unsupported_evidence_type": _m(
        "不支持的证据类型", "Unsupported evidence type", "证据须为 JPEG、PNG 图片或 PDF 文件。"
    ),
    "image_too_large": _m("图片过大", "Image too large", "图片像素过多，请上传较小的版本。"),
    "evidence_quota_exceeded": _m("证据数量已达上限", "Evidence quota exceeded", "证据文件的数量或大小已达上限。"),
    "evidence_quota_exceeded.files": _m(
        "证据数量已达上限", "Evidence quota exceeded", "每件投诉最多 {files} 个证据文件。"
    ),
    "evidence_quota_exceeded.bytes": _m(
        "证据数量已达上限", "Evidence quota exceeded", "每件投诉的证据文件合计最多 {mb} MB。"
    ),
    "evidence_quota_exceeded.daily": _m(
        "今日上传已达上限", "Evidence quota exceeded", "每个账号每天最多上传 {files} 个文件、合计 {mb} MB，请稍后再试。"
    ),
    "return_window_passed": _m(
        "已过退货期限", "Return window passed", "无理由退货须在购买之日起 {days} 天内申请，已超过期限。"
    ),
    "return_not_covered": _m("不适用无理由退货", "Goods not covered", "定制或改制的商品不适用无理由退货。"),
    "evidence_gone": _m(
        "证据文件缺失", "Evidence file missing from storage", "证据文件在存储中找不到了，请联系管理员。"
    ),
    "unknown_unit": _m("处理单位不存在", "Unknown handling unit", "该地区没有这个处理单位。"),
    "not_a_notice": _m("不是舆情通报", "Not a public-opinion notice", "这件投诉不是舆情通报。"),
    "notice_already_replied": _m("通报已回复", "Notice already replied to", "该舆情通报已经回复过了。"),
    "return_not_found": _m("退货申请不存在", "Return request not found", "没有这条退货申请，或您无权查看。"),
    "refund_above_amount": _m("退款超过申请金额", "Refund above amount", "退款金额超过了退货申请的金额。"),
    "bad_period": _m(
        "统计期间有误", "Bad report period", "统计期间有误：截止日期不能早于起始日期，期间也不能超过允许的长度。"
    ),
    "bad_period.backwards": _m("统计期间有误", "Bad report period", "截止日期（{last}）早于起始日期（{first}）。"),
    "bad_period.too_long": _m(
        "统计期间有误", "Bad report period", "一份报表最多统计 {max_days} 天，所选期间为 {days} 天。"
    ),
    "bad_period.too_many_months": _m("统计期间有误", "Bad report period", "最多查询 {max_months} 个月。"),
    "bad_period.month": _m("统计期间有误", "Bad report period", "月份格式应为“年-月”，例如 2026-01。"),
    "report_not_allowed": _m(
        "无权查看该报表", "Report not allowed", "只有本地区（或上级地区）的工作人员可以查看该地区的报表。"
    ),
    "import_file_invalid": _m(
        "导入文件无法读取", "Import file not readable", "导入文件无法读取，请导出为 CSV 文本后再导入。"
    ),
    "import_encoding_invalid": _m(
        "导入文件编码有误", "Import encoding invalid", "文件不是 UTF-8 编码：请另存为“CSV UTF-8”后重新导入。"
    ),
    "import_columns_missing": _m("导入文件缺少列", "Import columns missing", "导入文件缺少必需的列：{missing}。"),
    "import_too_large": _m("导入文件过大", "Import too large", "每个文件最多 {max_rows} 行，请拆分后导入。"),
    # --- compensation: funds, claims, payouts, recoveries ------------------------------------------------
    "rules_not_found": _m("赔付规则版本不存在", "Rules version not found", "没有这个版本的赔付规则。"),
    "deposit_above_floor": _m("保证金高于下限", "Deposit above its floor", "保证金余额高于下限，无需补缴。"),
    "top_up_already_requested": _m("已要求补缴", "Top-up already requested", "已经要求商户补缴保证金。"),
    "claim_exists": _m("已有赔付申请", "Claim exists", "该投诉已有先行赔付申请。"),
    "claim_not_found": _m("赔付申请不存在", "Claim not found", "没有这条赔付申请。"),
    "already_approved": _m("已审批", "Already approved", "您已经审批过这条申请。"),
    "fund_insufficient": _m("赔付基金余额不足", "Fund insufficient", "赔付基金余额不足。"),
    "insufficient_balance": _m("余额不足", "Insufficient balance", "账户余额不足。"),
    "liability_not_established": _m("责任尚未认定", "Liability not established", "商户责任尚未认定，暂不能先行赔付。"),
    "not_your_region": _m("非本地区", "Not your region", "只能处理本地区的事项。"),
    "no_payee": _m("无法支付", "No payee", "只有通过小程序投诉的游客可以收款。"),
    "amount_above_outstanding": _m("超过待追偿金额", "Amount above outstanding", "金额超过了待追偿的金额。"),
    "recovery_not_found": _m("追偿单不存在", "Recovery order not found", "没有这张追偿单。"),
    "merchant_not_found": _m("商户不存在", "Merchant not found", "没有这个商户。"),
    "payout_provider_not_enabled": _m(
        "未开通该支付机构", "Payout provider not enabled", "本平台未通过该支付机构付款。"
    ),
    "provider_bill_unavailable": _m(
        "暂时无法获取对账单", "Provider bill unavailable", "支付机构的对账单暂时无法获取。"
    ),
    "notification_rejected": _m("通知被拒绝", "Notification rejected", "支付通知未通过核验。"),
    "unknown_payout": _m("支付记录不存在", "Unknown payout", "没有与通知相符的支付记录。"),
    "amount_mismatch": _m("金额不符", "Amount mismatch", "通知的金额与支付记录不符。"),
    # --- credit: merchants, archive, lists, codes, benefits ------------------------------------------------
    "merchant_exists": _m("商户已存在", "Merchant exists", "该商户已经登记。"),
    "uscc_taken": _m("统一社会信用代码已登记", "USCC taken", "已有商户以该统一社会信用代码入驻。"),
    "licence_taken": _m("证件已登记", "Licence already registered", "该证件号已经登记。"),
    "already_reviewed": _m("已审核", "Already reviewed", "该商户已经审核过了。"),
    "practitioner_not_found": _m("从业人员不存在", "Practitioner not found", "没有这名从业人员。"),
    "subject_not_found": _m("信用主体不存在", "Subject not found", "没有这个信用主体。"),
    "merchant_not_live": _m("商户未入驻", "Merchant not live", "只有已入驻的商户才有放心消费码。"),
    "record_kind_not_applicable": _m("记录类型不适用", "Record kind does not apply", "这类记录不适用于该主体。"),
    "duration_out_of_bounds": _m("公示期限超出范围", "Publication period out of bounds", "公示期限超出允许的范围。"),
    "external_score_off_scale": _m("外部评分超出范围", "External score off its scale", "外部评分超出了其分值范围。"),
    "unknown_external_source": _m("未知的外部评分来源", "Unknown external score source", "没有这个外部评分来源。"),
    "list_is_automatic": _m("名单按等级自动生成", "List is automatic", "该名单随信用等级自动生成，不接受告知。"),
    "already_on_list": _m("已在名单或告知中", "Already on list", "该主体已在该名单上或已被告知。"),
    "listing_not_found": _m("名单记录不存在", "Listing not found", "没有这条名单记录。"),
    "not_on_notice": _m("不在告知期", "Not on notice", "只有处于告知期的记录可以进行此操作。"),
    "defence_already_stated": _m("已提交陈述", "Defence already stated", "已经提交过陈述申辩。"),
    "defence_period_over": _m("申辩期已过", "Defence period over", "陈述申辩期已经结束。"),
    "not_removable": _m("不能提前移出", "Not removable", "只有有公示期限的名单记录可以提前移出。"),
    "minimum_period_not_over": _m(
        "最短公示期未满", "Minimum period not over", "最短公示期至 {removable_from} 届满，届满前不能移出。"
    ),
    "listing_not_repairable": _m(
        "不能申请信用修复", "Listing not repairable", "只有当前的重点关注或严重失信名单记录可以申请信用修复。"
    ),
    "repair_too_early": _m(
        "尚不能申请信用修复", "Repair too early", "最短公示期届满（{removable_from}）后方可申请信用修复。"
    ),
    "repair_pending": _m("信用修复申请待审", "Repair pending", "该记录已有待审的信用修复申请。"),
    "repair_not_found": _m("信用修复申请不存在", "Repair application not found", "没有这条信用修复申请。"),
    "already_decided": _m("已作出决定", "Already decided", "该申请已经处理过了。"),
    "code_not_found": _m("放心消费码不存在", "Code not found", "没有找到这个放心消费码。"),
    "code_suspended": _m("放心消费码已暂停", "Code suspended", "这个放心消费码已暂停使用。"),
    "code_replaced": _m("放心消费码已更换", "Code replaced", "这个放心消费码已更换，请扫描商户现在展示的新码。"),
    "code_already_suspended": _m("放心消费码已暂停", "Code already suspended", "该放心消费码已经暂停。"),
    "rating_too_soon": _m("近期已评价", "Already rated recently", "您最近已评价过该商户，请稍后再评。"),
    "benefit_not_found": _m("权益不存在", "Benefit not found", "没有这项权益。"),
    "benefit_not_eligible": _m("不符合权益条件", "Not eligible for this benefit", "不符合享受该权益的条件。"),
    "benefit_already_redeemed": _m("权益已使用", "Benefit already used", "该权益已经使用过了。"),
}

# Starlette's own refusals (a route that does not exist, a method it does not take), by status.
HTTP_CODES = {
    400: "malformed_body",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
}


class _Values(dict[str, Any]):
    """Format values: a state or action in words; a missing one makes the template unusable."""

    def __missing__(self, key: str) -> Any:
        raise KeyError(key)


def _worded(value: Any) -> Any:
    return VALUE_WORDS_ZH.get(value, value) if isinstance(value, str) else value


def words(
    code: str,
    *,
    title: str,
    detail: str,
    language: Language | None = None,
    key: str | None = None,
    values: dict[str, Any] | None = None,
) -> tuple[str, str]:
    """The title and detail of a problem in `language` (the request's): the catalogue's for Chinese, the
    catalogue's title and the problem's own sentence for English."""
    language = language or current_language()
    message = MESSAGES.get(key or "") or MESSAGES.get(code)
    if language == "en":
        return (message.en if message else title), detail
    if message is None:
        return "请求未能完成", "请求未能完成，请稍后再试。"
    if message.zh_detail is None:
        return message.zh, message.zh
    try:
        filled = string.Formatter().vformat(
            message.zh_detail, (), _Values({k: _worded(v) for k, v in (values or {}).items()})
        )
    except (KeyError, IndexError, ValueError):
        filled = message.zh
    return message.zh, filled


# A refused field's message in Chinese, by pydantic's error type; its English message is pydantic's own.
FIELD_ERRORS_ZH: dict[str, str] = {
    "missing": "必填",
    "extra_forbidden": "不接受此字段",
    "string_too_short": "内容太短（至少 {min_length} 个字符）",
    "string_too_long": "内容太长（最多 {max_length} 个字符）",
    "string_pattern_mismatch": "格式不正确",
    "string_type": "须为文本",
    "int_parsing": "须为整数",
    "int_type": "须为整数",
    "int_from_float": "须为整数",
    "float_parsing": "须为数字",
    "bool_parsing": "须为是或否",
    "bool_type": "须为是或否",
    "greater_than": "须大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "须小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "enum": "须为以下之一：{expected}",
    "literal_error": "须为以下之一：{expected}",
    "date_parsing": "日期格式不正确",
    "date_from_datetime_parsing": "日期格式不正确",
    "datetime_parsing": "时间格式不正确",
    "datetime_from_date_parsing": "时间格式不正确",
    "timezone_aware": "时间须带时区",
    "json_invalid": "不是有效的 JSON",
    "model_attributes_type": "格式不正确",
    "dict_type": "须为对象",
    # Checks of our own (shared/contracts/common.py `refused`), by the kind each names.
    "text_nul": "不能含 NUL 字符",
    "day_format": "日期须写作 YYYY-MM-DD",
    "time_range": "须为 2000 年至 2100 年之间的时间",
    "uscc_type": "统一社会信用代码是 18 位字符",
    "uscc_format": "统一社会信用代码为 18 位数字或大写字母（不含 I、O、S、V、Z），第 3 至 8 位是 6 位行政区划代码",
    "uscc_check": "{code} 不是有效的统一社会信用代码：校验位应为 {expected}，而不是 {given}",
    "real_name_format": "姓名须为文字，中间只可有空格、间隔号（·）、点、连字符或撇号",
    "payee_name_consent": "须经游客同意才保存收款人姓名：请将 payee_name_consent 设为 true",
    # Any other check's reason, as it words it (in English).
    "value_error": "内容不正确（{error}）",
    "list_type": "须为列表",
}


def field_error(error: dict[str, Any], language: Language | None = None) -> str:
    """One refused field's message (a pydantic error) in the request's language."""
    if (language or current_language()) == "en":
        return str(error.get("msg", "invalid"))
    template = FIELD_ERRORS_ZH.get(str(error.get("type")), "内容不正确")
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError, ValueError):
        return "内容不正确"
