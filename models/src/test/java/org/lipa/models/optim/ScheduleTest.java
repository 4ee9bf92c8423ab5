package org.lipa.models.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ScheduleTest {
    @Test
    void shapes() {
        assertEquals(0.1, Schedule.constant(0.1).lr(1000));
        Schedule step = Schedule.step(1.0, 10, 0.5);
        assertEquals(1.0, step.lr(9));
        assertEquals(0.5, step.lr(10));
        assertEquals(0.25, step.lr(25));
        Schedule cos = Schedule.cosine(1.0, 0.0, 100);
        assertEquals(1.0, cos.lr(0), 1e-15);
        assertEquals(0.5, cos.lr(50), 1e-15);
        assertEquals(0.0, cos.lr(100), 1e-15);
        assertEquals(0.0, cos.lr(500), 1e-15);
        Schedule tri = Schedule.triangular(0.1, 0.5, 4);
        assertEquals(0.1, tri.lr(0), 1e-15);
        assertEquals(0.3, tri.lr(2), 1e-15);
        assertEquals(0.5, tri.lr(4), 1e-15);
        assertEquals(0.3, tri.lr(6), 1e-15);
        assertEquals(0.1, tri.lr(8), 1e-15);
        Schedule warm = Schedule.cosine(1.0, 0.0, 100).withWarmup(10);
        assertEquals(0.1, warm.lr(0), 1e-15);
        assertEquals(1.0, warm.lr(9), 1e-15);
        assertEquals(1.0, warm.lr(10), 1e-15);
        assertEquals(0.5, warm.lr(60), 1e-15);
    }
}
