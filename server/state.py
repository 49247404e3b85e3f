"""Typed keys for what lives on the application."""

from __future__ import annotations

import socketio
from aiohttp import web

from signaling.adapter import SocketNotifier
from signaling.chat import Chat
from signaling.consultations import Consultations
from signaling.core import Core
from signaling.files import Files
from signaling.lobby import Lobby
from signaling.room import Room
from storage.access_log import AccessLog
from storage.addresses import Network

CORE = web.AppKey("core", Core)
LOBBY = web.AppKey("lobby", Lobby)
ROOM = web.AppKey("room", Room)
CONSULTATIONS = web.AppKey("consultations", Consultations)
CHAT = web.AppKey("chat", Chat)
FILES = web.AppKey("files", Files)
ACCESS_LOG = web.AppKey("access_log", AccessLog)
TRUSTED_PROXIES = web.AppKey("trusted_proxies", list[Network])
NOTIFIER = web.AppKey("notifier", SocketNotifier)
SIO = web.AppKey("sio", socketio.AsyncServer)
