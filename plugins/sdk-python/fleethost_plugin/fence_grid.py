"""A grid index over many fences: which fences may hold a position, without
testing every one of them for every fix.

The world is cut into square cells of ``cell_deg`` degrees of latitude and
longitude; each fence is listed in every cell its bounding box touches. A
lookup tests only the fences listed in the position's one cell. With cells a
little larger than a typical fence (0.01 degrees is about 1.1 km north to
south), a position meets a handful of candidates however many thousands of
fences there are.
"""

from __future__ import annotations

import math
from typing import Dict, Iterable, List, Tuple

Cell = Tuple[int, int]

# Most cells one fence may be listed in: a fence much larger than the cells
# is a config mistake (or wants larger cells), not something to index.
MAX_CELLS_PER_FENCE = 100_000


class FenceGrid:
    """Fences (``geo.Circle``, ``geo.Polygon`` or anything with ``id``,
    ``contains(lat, lon)`` and ``bounds()``) indexed by grid cell."""

    def __init__(self, fences: Iterable = (), cell_deg: float = 0.01):
        if not cell_deg > 0.0:
            raise ValueError("cell_deg must be > 0, got %r" % cell_deg)
        self.cell_deg = cell_deg
        self._cells: Dict[Cell, List] = {}
        self._count = 0
        for fence in fences:
            self.add(fence)

    def __len__(self) -> int:
        return self._count

    def _cell(self, lat: float, lon: float) -> Cell:
        return (math.floor(lat / self.cell_deg), math.floor(lon / self.cell_deg))

    def add(self, fence) -> None:
        """Lists ``fence`` in every cell its bounding box touches."""
        min_lat, min_lon, max_lat, max_lon = fence.bounds()
        low_row, low_col = self._cell(min_lat, min_lon)
        high_row, high_col = self._cell(max_lat, max_lon)
        cells = (high_row - low_row + 1) * (high_col - low_col + 1)
        if cells > MAX_CELLS_PER_FENCE:
            raise ValueError(
                "fence %r spans %d cells of %r degrees (at most %d): use larger cells"
                % (fence.id, cells, self.cell_deg, MAX_CELLS_PER_FENCE)
            )
        for row in range(low_row, high_row + 1):
            for col in range(low_col, high_col + 1):
                self._cells.setdefault((row, col), []).append(fence)
        self._count += 1

    def candidates(self, lat: float, lon: float) -> List:
        """The fences whose bounding box touches the position's cell, in the
        order they were added: a superset of those holding it."""
        return self._cells.get(self._cell(lat, lon), [])

    def containing(self, lat: float, lon: float) -> List:
        """The fences holding the position, in the order they were added."""
        return [fence for fence in self.candidates(lat, lon) if fence.contains(lat, lon)]
