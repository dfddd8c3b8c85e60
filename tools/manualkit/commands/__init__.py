"""The verbs. Each module declares its command(s) in ``COMMANDS`` (see ``registry``): the options
and what running it does. This lists them, one line per command: its name, the module that
declares it and its one-line help, in the order ``manual --help`` shows them. A new command is its
module and one line here.

The one-line help lives here, not in the module, so that ``manual --help`` (and a mistyped
command's "did you mean") imports no command module at all; ``manual <command>`` imports only
its own (tests/test_architecture.py checks that every declared command is listed and the other
way round)."""

INDEX: tuple[tuple[str, str, str], ...] = (
    ("check", "commands.check", "检查手册（前置元数据、结构、Markdown 子集、引用）"),
    ("propose", "commands.propose", "提出修订申请（创建文件修订申请单）"),
    ("approve", "commands.approve", "以某一角色对修订申请单进行电子签署"),
    ("export-approval", "commands.approve", "导出一项签署的原文和签名，供 ssh-keygen -Y verify 独立验证"),
    ("release", "commands.release", "把签署齐全的修订申请单发布为新版本（提交并打标签）"),
    ("review", "commands.review", "记录某章的定期评审（经签署，版本不变）"),
    ("status", "commands.status", "现行有效版本、待实施版本、未发布的修订申请单和到期的评审"),
    ("remind", "commands.remind", "提醒：把每项到期的待办（签署、培训、评审、回收副本、实施通知）发给应办理的人"),
    ("history", "commands.history", "全部发布版本及其签署的验证结果"),
    ("show", "commands.show", "某日现行有效（或指定版本）的手册全文，读取自发布提交"),
    ("diff", "commands.diff", "两个版本（或两个日期现行有效的版本）之间逐节的修订对照"),
    ("audit", "commands.audit", "审计整条记录链：签署、内容摘要、公告期、时间线、发布之外的修改、定期评审"),
    ("init", "commands.init", "为本公司建立新的手册仓库及其信任根（签署人名录）"),
    ("allowed-signers", "commands.allowed_signers", "输出由签署人名录生成的 OpenSSH allowed_signers 文件"),
    ("publish", "commands.publish", "主任务：检查手册并构建站点和签名 DOCX"),
    ("docx", "commands.docx", "生成某一发布版本的签名 DOCX（默认：今天现行有效的版本）"),
    ("pdf", "commands.pdf", "生成某一发布版本的签名 PDF/A（默认：今天现行有效的版本）"),
    ("verify", "commands.verify", "验证 DOCX 或 PDF 是否为真实、未被篡改的发布文件"),
    ("build", "commands.build", "构建员工网站（site/，现行有效版本，读取自 git）和签名 DOCX（dist/）"),
    ("serve", "commands.serve", "预览工作区中的草稿（每页标注“草稿（未生效）”），修改后自动刷新"),
    ("desk", "desk.command", "签署台：在浏览器中阅读、签署或退回修订申请单（通行密钥或 SSH 密钥）"),  # the signing desk, the second face, declares its command itself
    ("return", "commands.procedure", "退回修订申请单（由所等待角色的签署人签署，写明理由）"),
    ("revoke-key", "commands.procedure", "立即停用签署人的密钥（由本人或批准人签署）"),
    ("training", "commands.procedure", "记录某版本的培训（经签署）"),
    ("distribute", "commands.procedure", "分发带分发号的受控副本（签名 DOCX）并记录领用人"),
    ("recall", "commands.procedure", "记录受控副本的回收（或作废留存）"),
    ("obligations", "commands.obligations", "第八章的每项义务及其执行方式（检查、命令与记录，或由人执行）"),
    ("review-copy", "commands.review_round", "生成修订申请单的征求意见稿（DOCX，修订标记显示改动，供审阅人批注）"),
    ("import-review", "commands.review_round", "导入审阅人返回的征求意见稿：批注和修订记为审核意见"),
    ("answer", "commands.review_round", "答复一条审核意见（处理意见：采纳或不采纳，写明理由）"),
    ("summary", "commands.summary", "合并请求摘要：修订申请单、对照表、签署与待签角色、检查结果"),
    ("comment", "commands.comment", "把摘要发表为合并请求（GitLab）或拉取请求（GitHub）的评论，已有则原地更新"),
    ("codes", "commands.codes", "列出全部诊断代码"),
)
