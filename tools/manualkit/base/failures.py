"""Operating-system and git failures as coded diagnostics: what failed, and what to do.

A command that meets a failure it does not handle itself (a folder it cannot write, a disk that
is full, a git command that fails) ends with one of these instead of a traceback; the CLI renders
them like any other refusal. Files are written atomically (base/atomic), so a failure never leaves
half a file behind.
"""

from __future__ import annotations

import errno

from manualkit.base.diagnostics import Diagnostic, diagnostic

_ADVICE = {
    errno.EACCES: "没有权限；请检查该文件或文件夹的权限，或换一个可写的位置",
    errno.EPERM: "操作不被允许；请检查该文件或文件夹的权限",
    errno.EROFS: "所在的文件系统是只读的；请换一个可写的位置",
    errno.ENOENT: "路径不存在；请检查路径是否写对、上级文件夹是否存在",
    errno.ENOTDIR: "路径中有一段不是文件夹；请检查路径",
    errno.EISDIR: "该路径是文件夹，而这里需要文件；请检查路径",
    errno.EEXIST: "该路径已存在且不能被替换；请检查路径",
    errno.ENOSPC: "磁盘空间不足；请清理空间后重试",
    errno.EDQUOT: "磁盘配额已用完；请清理空间后重试",
    errno.ELOOP: "符号链接过多或形成循环；请检查路径",
    errno.ENAMETOOLONG: "路径过长；请换一个较短的路径",
    errno.EMFILE: "打开的文件过多；请稍后重试",
    errno.EBUSY: "文件或设备正忙；请稍后重试",
    errno.ETXTBSY: "文件正被使用；请稍后重试",
}


def os_failure(exc: OSError) -> Diagnostic:
    """MAN766 for an operating-system error: the path, what the system said, what to do."""
    path = str(exc.filename) if exc.filename is not None else "."
    reason = exc.strerror or type(exc).__name__
    advice = _ADVICE.get(exc.errno or 0, "请检查该路径后重试")
    target = f"（另一路径：{exc.filename2}）" if exc.filename2 is not None else ""
    return diagnostic(path, 0, 0, "MAN766", f"{advice}（操作系统：{reason}{target}）。命令未完成，未写入半成品文件")


def git_failure(message: str) -> Diagnostic:
    """MAN767 for a failed git command, with git's own words; a stale index.lock gets its remedy."""
    said = " ".join(message.split())[:400] or "git 命令失败"
    if "index.lock" in message:
        advice = "另一个 git 进程正在运行，或上次 git 异常退出留下了 .git/index.lock；请确认没有 git 进程在运行后删除该文件，再重试"
    elif "not a git repository" in message:
        advice = "这里不是 git 仓库；请在手册仓库中运行，或用 --root 指定仓库"
    else:
        advice = "请根据 git 的提示处理后重试"
    return diagnostic("git", 0, 0, "MAN767", f"git 命令失败：{said}；{advice}")


def internal_failure(exc: BaseException) -> Diagnostic:
    """MAN769: a failure the tool has no better words for (never a traceback)."""
    if isinstance(exc, MemoryError):
        said = "内存不足"
    elif isinstance(exc, RecursionError):
        said = "输入嵌套过深"
    else:
        said = f"{type(exc).__name__}: {exc}"[:300]
    return diagnostic(".", 0, 0, "MAN769", f"内部错误（{said}）；命令未完成，未写入半成品文件。设置 MANUAL_DEBUG=1 可查看详细信息，请将其报告给维护者")
