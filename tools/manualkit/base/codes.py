"""The table of diagnostic codes: each code once, with its severity and what to do.

``docs/diagnostics.md`` is generated from this table (``manual codes --format md``) and a test
keeps the two identical.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"  # for the record only: never a failure, not even with --strict


E = Severity.ERROR
W = Severity.WARNING
I = Severity.INFO  # noqa: E741 (the table's one-letter severities)


class Code(NamedTuple):
    code: str
    severity: Severity
    summary: str


_TABLE: tuple[Code, ...] = (
    # Usage and files
    Code("MAN000", E, "命令用法错误（退出状态 2）"),
    Code("MAN001", E, "文件不是有效的 UTF-8 编码"),
    Code("MAN002", E, "文件以 UTF-8 BOM 开头"),
    Code("MAN003", E, "文件为空"),
    Code("MAN004", E, "文件超过大小上限"),
    Code("MAN005", E, "文件是指向仓库之外或非普通文件的符号链接"),
    Code("MAN006", E, "manual.yml 列出的章节文件不存在"),
    Code("MAN007", W, "manual/ 下的 Markdown 文件未在 manual.yml 中列出"),
    Code("MAN008", E, "manual.yml 缺失或内容无效"),
    Code("MAN009", E, "文件含有不允许的控制字符"),
    # Front matter
    Code("MAN101", E, "章节文件缺少 YAML 前置元数据"),
    Code("MAN102", E, "前置元数据没有结束标记 ---"),
    Code("MAN103", E, "YAML 语法错误"),
    Code("MAN104", E, "前置元数据不是键值映射"),
    Code("MAN105", E, "缺少必填键"),
    Code("MAN106", E, "未知的键"),
    Code("MAN107", E, "值的类型错误"),
    Code("MAN108", E, "日期不是有效的 ISO 日期（YYYY-MM-DD）"),
    Code("MAN109", E, "值不在允许的取值范围内"),
    Code("MAN110", E, "数值超出允许范围"),
    Code("MAN111", E, "重复的键"),
    Code("MAN112", W, "章节定期评审已逾期"),
    # Structure
    Code("MAN201", E, "章编号与 manual.yml 中的顺序或大纲不符"),
    Code("MAN202", E, "章标题与大纲不符"),
    Code("MAN203", E, "一级标题缺失、重复或格式错误"),
    Code("MAN204", E, "节标题格式错误"),
    Code("MAN205", E, "节编号不连续、重复或顺序错误"),
    Code("MAN206", E, "节标题与大纲不符"),
    Code("MAN207", E, "节锚点缺失或与节编号不符"),
    Code("MAN208", E, "标题或锚点重复"),
    Code("MAN209", E, "标题层级跳级"),
    Code("MAN210", E, "前置元数据 sections 与正文中的节不一致"),
    Code("MAN211", E, "缺少大纲规定的节"),
    Code("MAN213", E, "节内容为空或为占位文字"),
    Code("MAN214", E, "章标题与第一节之间有不属于任何一节的正文"),
    Code("MAN215", E, "手册的章不完整或顺序与大纲不符"),
    # Markdown subset
    Code("MAN301", E, "不允许使用原始 HTML"),
    Code("MAN302", E, "不允许使用脚本"),
    Code("MAN303", E, "不允许的链接协议（javascript:、data:、vbscript: 等）"),
    Code("MAN304", E, "图片必须位于仓库的 manual/ 目录内"),
    Code("MAN305", E, "不允许使用代码块"),
    Code("MAN306", E, "标题层级超过四级"),
    Code("MAN307", E, "不允许使用下划线式（Setext）标题"),
    Code("MAN308", E, "列表、表格或引用前缺少空行"),
    Code("MAN309", E, "嵌套列表必须缩进 4 个空格"),
    Code("MAN310", E, "不在受支持 Markdown 子集内的写法"),
    Code("MAN311", E, "引用的图片文件不存在"),
    Code("MAN312", E, "加粗标记未生效（标点紧贴 ** 内侧而外侧是汉字），将原样显示星号"),
    # References
    Code("MAN401", E, "引用的节不存在"),
    Code("MAN402", E, "链接指向不存在的锚点"),
    Code("MAN403", E, "链接指向不存在的文件"),
    # Policy and chapter 8
    Code("MAN501", E, "缺少修订政策文件 manual/policy.yml"),
    Code("MAN510", E, "第 8.2 或 8.4 节缺少与修订政策对应的规则表"),
    Code("MAN511", E, "规则表的行与修订政策不符（多出或缺少）"),
    Code("MAN512", E, "规则表的内容与修订政策不一致"),
    # Git and history
    Code("MAN601", E, "找不到 git 命令"),
    Code("MAN602", E, "不是 git 仓库"),
    Code("MAN603", E, "浅克隆缺少历史，请先获取完整历史"),
    Code("MAN604", E, "指定的 git 引用不存在"),
    # Signatures and change requests
    Code("MAN620", E, "签名私钥无法使用"),
    Code("MAN630", E, "版次已用尽"),
    Code("MAN641", E, "申请单号与文件名不一致"),
    Code("MAN642", E, "修订申请单列出的节不存在"),
    Code("MAN643", E, "涉及考核规则的修订缺少职工协商记录（劳动合同法第四条）"),
    Code("MAN644", E, "修订申请单模板无法解析"),
    Code("MAN645", E, "修订申请单已存在"),
    Code("MAN646", E, "找不到指定的修订申请单"),
    Code("MAN650", E, "电子签名无效（伪造、复用或被改动）"),
    Code("MAN651", E, "签署人不在签署人名录中"),
    Code("MAN652", E, "签署人无权签署该角色"),
    Code("MAN653", E, "该修订类别不需要此角色签署"),
    Code("MAN654", E, "同一人在同一申请单上签署了两个角色"),
    Code("MAN655", E, "签署后内容被修改，签署作废"),
    Code("MAN656", E, "同一角色重复签署"),
    # Releases
    Code("MAN660", E, "修订申请单缺少必需的有效签署"),
    Code("MAN661", E, "工作区有未提交的修改，或仓库没有提交"),
    Code("MAN662", E, "没有待发布的修订申请单"),
    Code("MAN663", E, "实施日期早于发布日期加最短公告期"),
    Code("MAN664", E, "实施日期不晚于上一版本的实施日期"),
    Code("MAN665", E, "发布日期早于上一版本的发布日期"),
    Code("MAN666", E, "发布标签已存在，或分支在发布期间被改动"),
    # Pull-request check
    Code("MAN670", E, "修改了节但没有对应的修订申请单"),
    Code("MAN671", W, "修订申请单列出了本次未修改的节"),
    Code("MAN672", E, "已发布的发布记录被修改或删除"),
    Code("MAN673", E, "已发布的修订申请单被修改或删除"),
    Code("MAN674", E, "章的前置元数据被修改，但没有对应的修订申请单或评审记录"),
    Code("MAN675", W, "手册标识或修订政策文件被修改，须经质量管理部评审"),
    # Release verification
    Code("MAN680", E, "发布记录不在 git 历史中"),
    Code("MAN681", E, "发布记录在发布后被修改"),
    Code("MAN682", E, "内容摘要与发布提交中的手册不符"),
    Code("MAN683", E, "发布时的手册或政策无法加载"),
    Code("MAN684", E, "发布所列的修订申请单不存在"),
    Code("MAN685", E, "尚无发布记录"),
    Code("MAN686", E, "指定的版本不存在"),
    Code("MAN687", E, "指定日期尚无生效的版本"),
    # Periodic review
    Code("MAN690", E, "定期评审记录无效"),
    # Auditors: diff between versions and the whole-chain audit (manual diff, manual audit)
    Code("MAN701", E, "比较的起点晚于终点"),
    Code("MAN710", E, "已发布的文本在发布之外被修改（后续提交或工作区）"),
    Code("MAN711", E, "版本序列有缺口：上一版本、版本号或修订类别与记录不符"),
    Code("MAN712", E, "发布记录的提交顺序与版本顺序不符"),
    Code("MAN713", E, "签署时间晚于发布日期"),
    Code("MAN714", E, "发布记录所列签署与修订申请单中的有效签署不一致"),
    Code("MAN715", W, "发布标签缺失或未指向记录该发布的提交"),
    Code("MAN720", E, "定期评审逾期（评审间隔超过评审周期，或至今已逾期）"),
    Code("MAN721", E, "章的上次评审日期与签署的评审记录不符"),
    Code("MAN722", E, "定期评审记录被删除、在提交后被修改或尚未提交"),
    # The chain of trust (issue 9): rules, signers and records judged by what was in force before them
    Code("MAN740", E, "修订政策、签署人名录、certs/ 或工作日历被修改，但没有列出 policy / certs / calendar 的修订申请单"),
    Code("MAN741", E, "修改修订政策、证书或工作日历的申请单须至少为一般修订并经批准签署"),
    Code("MAN742", E, "同一公钥登记在两个签署人标识下"),
    Code("MAN743", E, "签署人标识被换成了另一签署人的公钥"),
    Code("MAN744", E, "签署时间早于修订申请单的申请日期"),
    Code("MAN745", E, "发布记录的字段无法原样写入并读回（YAML 往返不一致）"),
    Code("MAN746", E, "发布日期晚于今天（公司时区）"),
    Code("MAN747", E, "实施日期早于今天（不得追溯生效）"),
    Code("MAN748", E, "已发布的记录在历史中被删除、改动或以不同内容重新添加"),
    Code("MAN749", E, "见证（DOCX 或 history --json）所见的发布与 git 中的记录不一致"),
    Code("MAN750", E, "policy.yml 中的时区无效"),
    Code("MAN751", E, "manual init：目标目录已有手册，或 --from 不是手册仓库"),
    Code("MAN752", E, "manual init：签署人登记无效（格式、角色、公钥文件）"),
    Code("MAN753", E, "发布记录的 previous_release 不是上一次发布的提交（早先的发布提交被改写）"),
    Code("MAN754", E, "哈希链开始之后的发布记录缺少 previous_release"),
    # The staff site (manual build / manual serve)
    Code("MAN730", E, "MkDocs 构建站点失败（如链接失效）"),
    Code("MAN731", E, "站点输出目录不能是仓库根目录或含有 manual/ 的目录"),
    # Hardening: one writer at a time, allowed characters, bounded reads, OS and git failures
    Code("MAN760", E, "仓库正被另一个命令修改（写入锁被占用），等待后仍未释放"),
    Code("MAN761", E, "无法创建仓库写入锁"),
    Code("MAN762", E, "文本含有双向控制字符或零宽（不可见）字符"),
    Code("MAN763", E, "文本含有 Unicode 非字符或无效字符，YAML 无法存储"),
    Code("MAN764", E, "节编号或节引用使用了全角数字；请改用半角数字"),
    Code("MAN765", E, "日期超出可处理的范围（1900-01-01 至 2999-12-31）"),
    Code("MAN766", E, "读写文件或文件夹时操作系统报错"),
    Code("MAN767", E, "git 命令失败"),
    Code("MAN768", E, "文件不是普通文件（设备、FIFO、套接字或文件夹），或超过大小上限"),
    Code("MAN769", E, "内部错误：命令未能完成（未写入半成品文件）"),
    # Chapter 8's obligations: returns, deadlines, revoked keys, training, controlled copies (issue #11)
    Code("MAN800", E, "修订申请单已退回，不能再签署或发布；请以新申请单（--replaces）重新提交"),
    Code("MAN801", E, "不能退回该修订申请单（已发布、已退回，或不在等待该角色）"),
    Code("MAN802", E, "退回记录无效（签名无效、签署人无权或申请单不存在）"),
    Code("MAN803", E, "--replaces 所指的申请单不存在或未被退回"),
    Code("MAN805", E, "工作日历文件无效（不存在的日期、格式错误）"),
    Code("MAN806", W, "日期所在年份不在任何工作日历中，期限仅按周一至周五估算"),
    Code("MAN807", W, "修订申请单的审核、会签或批准已超过 5 个工作日期限"),
    Code("MAN810", E, "停用密钥：签署人不在签署人名录中"),
    Code("MAN811", E, "密钥停用记录无效（签名无效，或签署人既非密钥本人也非批准人）"),
    Code("MAN812", E, "签名所用的密钥在签署时已被停用"),
    Code("MAN813", E, "停用时间无效（晚于现在或格式错误）"),
    Code("MAN815", E, "培训记录所指的版本不存在"),
    Code("MAN816", E, "培训记录无效（签名无效、签署人不在名录中或字段错误）"),
    Code("MAN817", W, "需要培训的版本尚无培训记录"),
    Code("MAN818", W, "需要培训的版本在实施日期前没有培训记录"),
    Code("MAN820", E, "分发受控副本：版本不存在或份数、领用人无效"),
    Code("MAN821", E, "分发号不存在"),
    Code("MAN822", E, "该受控副本已回收"),
    Code("MAN823", W, "作废版本的受控副本超过 5 个工作日未回收"),
    Code("MAN824", E, "受控副本记录无效"),
    Code("MAN825", E, "回收日期早于分发日期或版本尚未作废"),
    Code("MAN830", E, "第八章（或其引用条款）的义务语句没有执行方式的登记"),
    Code("MAN831", W, "义务登记表中的条目已找不到对应的语句"),
    Code("MAN832", E, "义务登记表文件无效"),
    Code("MAN840", E, "输入文本含有不允许的字符或超过长度上限"),
    # Record integrity: signed or derived, immutable history, time the signer cannot choose (issue 26)
    Code("MAN850", E, "签署含义与修订政策中该角色的含义不符（签署记录在签署后被改动）"),
    Code("MAN851", E, "changelog/ 下的记录在历史中被删除、修改或以不同内容重新添加"),
    Code("MAN852", E, "已停用的密钥在停用记录提交之后的提交中签署，所称签署时间不可信"),
    Code("MAN853", W, "密钥停用时间早于已发布版本中该密钥的签署，而停用记录未声明追溯作废：按最后一次已发布签署之后停用处理"),
    Code("MAN854", E, "培训记录的日期早于该版本的发布日期"),
    Code("MAN855", E, "受控副本分发或回收记录无效（签名无效、签署人不在名录中或字段错误）"),
    Code("MAN856", E, "停用时间早于已发布版本中该密钥的签署：须明确声明追溯作废（--void-released），并由批准人签署"),
    Code("MAN860", E, "记录文件超过其类型允许的大小，不是 manual 写入的记录，未读取"),
    Code("MAN861", E, "记录文件位于记录文件夹的子文件夹中，不是记录，未读取"),
    Code("MAN862", E, "记录写入后无法原样读回（含有记录不允许的内容）：未写入"),
    Code("MAN870", E, "正文中不允许使用属性列表 {: …}（网站会把它当作 HTML 属性）；只有标题末尾的 {#锚点} 可用"),
    Code("MAN871", E, "找不到 pdftotext（poppler-utils），无法核对 PDF 的内容"),
    Code("MAN872", E, "pdftotext 无法读取 PDF 的文字"),
    # the signing desk (manual desk, WebAuthn): MAN900-MAN919
    Code("MAN900", E, "签署记录的签名形式无效（须且只能含 SSH 签名或 WebAuthn 签名之一）"),
    Code("MAN901", E, "签名所用的挑战不是签署台为本次签署签发的（重放、已用过或属于另一申请单）"),
    Code("MAN902", E, "页面显示之后申请单内容已被修改，签名所签的不是现在的内容"),
    Code("MAN903", E, "所用的 WebAuthn 凭据不在现行签署人名录中"),
    Code("MAN904", E, "WebAuthn 签名无效"),
    Code("MAN905", E, "所用的 SSH 密钥不是签署人登记的密钥"),
    Code("MAN906", E, "签署台拒绝了请求：缺少或错误的访问令牌、主机名或来源"),
    Code("MAN907", E, "签署台的请求缺少签名或格式无效"),
    Code("MAN908", E, "签署台无法与远程仓库同步（取得或推送）"),
    # the review round trip (征求意见稿, 审核意见, 处理意见): MAN920-MAN939
    Code("MAN920", E, "修订申请单已发布或已退回，或尚无发布版本：不能生成征求意见稿、导入意见或答复"),
    Code("MAN921", E, "文件不是征求意见稿（缺少 Word 正文部件或标识征求意见稿的文档属性）"),
    Code("MAN922", E, "征求意见稿属于另一份修订申请单"),
    Code("MAN923", E, "征求意见稿的基准版本不是现在的最新发布版本"),
    Code("MAN924", E, "征求意见稿中段落书签缺失，意见无法对应到章节"),
    Code("MAN925", E, "征求意见稿中的批注或修订超过上限"),
    Code("MAN926", W, "征求意见稿生成之后，修订申请单的拟修订文本已有改动"),
    Code("MAN927", E, "拟修订文本已改动，不能把审阅人的修订应用到工作区"),
    Code("MAN928", W, "审阅人的修订无法对应到 Markdown，未应用"),
    Code("MAN929", E, "审核意见记录无效"),
    Code("MAN930", E, "修订申请单没有该编号的审核意见"),
    Code("MAN931", E, "该审核意见已有处理意见（处理意见只写一次）"),
    Code("MAN932", W, "修订申请单有尚未处理的审核意见"),
    Code("MAN933", E, "审核意见尚未全部处理，不能作最后一项签署（批准；编辑性修改为审核）"),
    Code("MAN934", E, "处理意见记录无效"),
    Code("MAN935", E, "审阅人标识无效"),
    Code("MAN936", E, "同一份反馈的征求意见稿已经导入过"),
    Code("MAN937", E, "处理意见的签名无效（签署后被改动，或答复人不是签署人本人）"),
    Code("MAN938", E, "审核意见记录的签名无效（签署后被改动）"),
    # reminders (manual remind, manual/contacts.yml): MAN940-MAN959
    Code("MAN940", E, "manual/contacts.yml 无效（结构、未知的联系方式或格式错误）"),
    Code("MAN941", W, "签署人在 manual/contacts.yml 中没有联系方式，无法提醒"),
    Code("MAN942", W, "manual/contacts.yml 中的联系方式不属于任何签署人或部门"),
    Code("MAN943", E, "联系方式会让机器人提及群内所有人（all、@all、所有人）"),
    Code("MAN944", E, "提醒邮件未能发出（SMTP 服务器不可达、拒绝或超时）；下次运行时重发"),
    Code("MAN945", E, "群机器人未收下提醒（连接失败、超时、HTTP 错误或返回错误码）；下次运行时重发"),
    Code("MAN946", E, "提醒渠道的环境配置无效或不完整"),
    Code("MAN947", E, "提醒台账无法读取或写入"),
    Code("MAN948", W, "应提醒的人没有可用于已配置渠道的联系方式，提醒未发出"),
    Code("MAN949", E, "manual remind --send 没有配置任何提醒渠道"),
    Code("MAN950", W, "待办事项没有可提醒的人（名录中无人具有该角色）"),
    Code("MAN909", E, "要登记的 WebAuthn 凭据已在签署人名录中登记过"),
    Code("MAN910", E, "WebAuthn 凭据登记无效（证明与签署台签发的挑战、来源或依赖方不符）"),
    Code("MAN911", E, "无法把 WebAuthn 凭据写入 policy.yml（签署人不在名录中或 policy.yml 无效）"),
    # DOCX packages and their signing keys (raised by ooxml_package / signing_key)
    Code("DOC501", E, "文件不是有效的 ZIP/OPC 包或已损坏"),
    Code("DOC502", E, "包内条目数超过上限"),
    Code("DOC503", E, "单个部件超过大小上限"),
    Code("DOC504", E, "包解压后的总大小超过上限"),
    Code("DOC505", E, "压缩比异常，疑似 ZIP 炸弹"),
    Code("DOC506", E, "不安全的条目名（绝对路径、.. 段、反斜杠等）"),
    Code("DOC507", E, "重复的条目名"),
    Code("DOC508", E, "[Content_Types].xml 缺失、无效，或部件没有内容类型"),
    Code("DOC509", E, "关系部件（.rels）无效"),
    Code("DOC510", E, "不支持的 ZIP 特性（加密或 OPC 不允许的压缩方法）"),
    Code("DOC511", E, "XML 部件格式错误或含有 DTD 声明"),
    Code("DOC512", E, "SOURCE_DATE_EPOCH 不是有效的时间戳"),
    Code("DOC531", E, "签名密钥文件不存在或无法读取"),
    Code("DOC532", E, "签名密钥文件格式无效或密码错误"),
    Code("DOC533", E, "签名密钥文件中没有与私钥匹配的证书"),
    Code("DOC534", E, "不支持的密钥类型（仅支持 RSA ≥ 2048 位或 ECDSA P-256/P-384/P-521）"),
    Code("DOC535", E, "签名配置不完整"),
    Code("DOC536", E, "开发签名目录无法创建或写入"),
    # Layout engine, PDF/A and the table of contents (documents issue: DOC540-DOC579)
    Code("DOC540", E, "未安装排版引擎 LibreOffice（页码与 PDF 需要它）：按提示的 apt-get 命令安装"),
    Code("DOC541", E, "LibreOffice 排版失败或生成的 PDF 无效"),
    Code("DOC542", E, "SOURCE_DATE_EPOCH 要求可复现的 PDF，但未安装 faketime"),
    # 修订对照表 as an appendix of the release DOCX (documents issue: MAN780-MAN789)
    Code("MAN780", E, "首次发布没有上一版本，无法附上修订对照表：去掉 --with-comparison"),
    # Hosting: the merge-request summary posted to GitLab or GitHub (issue 25: MAN960-MAN969)
    Code("MAN960", E, "manual comment 缺少 CI 变量或其值无效（API 地址、项目、合并请求编号、令牌）：按 docs/hosting.md 设置"),
    Code("MAN961", E, "托管平台的 API 请求失败（HTTP 状态或网络）：检查令牌的权限和 API 地址"),
    Code("MAN962", E, "托管平台的 API 返回了无法读取的内容：检查 API 地址"),
    Code("MAN963", E, "摘要文件无法读取、不是 manual summary 的输出或超过评论篇幅：用 manual summary 重新生成"),
    # What readers see: the audit's verdict, locators, staff pages (issue 24: MAN970-MAN979)
    Code("MAN970", I, "早于该要求：该版本发布时的规则（manual/obligations.yml）尚未要求此项记录，不作为缺失记录"),
    Code("MAN971", I, "本克隆中没有该版本的发布标签（发布记录的提交才是证据；git fetch --tags 可取回标签）"),
    # The staff site's search and sitemap, the clause locator, the redline engine (s24b: MAN990-MAN999)
    Code("MAN990", E, "MANUAL_SITE_URL 不是可用的站点地址（应为 https://主机名/路径/，或留空而不生成 sitemap.xml）"),
)

CODES: dict[str, Code] = {c.code: c for c in _TABLE}


def severity_of(code: str) -> Severity:
    return CODES[code].severity


def codes_markdown() -> str:
    """The documented table of every code (``docs/diagnostics.md``)."""
    lines = [
        "# 诊断代码表（Diagnostic codes）",
        "",
        "Generated by `manual codes --format md`; `tests/test_check.py` keeps it in sync.",
        "`--strict` turns every warning into an error; 信息 (information) is never a failure.",
        "",
        "| 代码 | 级别 | 含义 |",
        "|---|---|---|",
    ]
    label = {E: "错误", W: "警告", I: "信息"}
    lines += [f"| {c.code} | {label[c.severity]} | {c.summary} |" for c in _TABLE]
    return "\n".join(lines) + "\n"
