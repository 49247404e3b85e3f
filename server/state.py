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

CORE = web.AppKey("core", Core)
LOBBY = web.AppKey("lobby", Lobby)
ROOM = web.AppKey("room", Room)
CONSULTATIONS = web.AppKey("consultations", Consultations)
CHAT = web.AppKey("chat", Chat)
FILES = web.AppKey("files", Files)
NOTIFIER = web.AppKey("notifier", SocketNotifier)
SIO = web.AppKey("sio", socketio.AsyncServer)
